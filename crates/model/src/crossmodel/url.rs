//! Offer URLs: `[controller:][owner/]MODEL.OFFER`, as `juju consume` takes them. The local
//! model has one controller and one user, so both prefixes are accepted and dropped.

use std::fmt;

use crate::error::{Result, UsageError};

/// A parsed offer URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferUrl {
    /// The offering model.
    pub model: String,
    /// The offer's name.
    pub offer: String,
}

impl OfferUrl {
    /// Parses `[controller:][owner/]MODEL.OFFER`.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| UsageError::BadOfferUrl {
            url: url.to_owned(),
            reason: why.to_owned(),
        };
        let rest = url.split_once(':').map_or(url, |(_, r)| r);
        let rest = rest.split_once('/').map_or(rest, |(_, r)| r);
        let (model, offer) = rest
            .split_once('.')
            .ok_or_else(|| bad("expected [controller:][owner/]MODEL.OFFER"))?;
        if model.is_empty() || offer.is_empty() {
            return Err(bad("expected [controller:][owner/]MODEL.OFFER").into());
        }
        crate::names::check_model(model).map_err(|_| bad("the model name is not valid"))?;
        crate::names::check_app(offer).map_err(|_| bad("the offer name is not valid"))?;
        Ok(Self {
            model: model.to_owned(),
            offer: offer.to_owned(),
        })
    }
}

impl fmt::Display for OfferUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "admin/{}.{}", self.model, self.offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_is_accepted_and_dropped() {
        for url in ["a.ca", "admin/a.ca", "local:admin/a.ca", "ctl:a.ca"] {
            let u = OfferUrl::parse(url).unwrap();
            assert_eq!((u.model.as_str(), u.offer.as_str()), ("a", "ca"), "{url}");
        }
    }

    #[test]
    fn malformed_urls_are_refused_by_name() {
        for url in ["", "ca", "a.", ".ca", "admin/", "A_B.ca", "a.Ca"] {
            let e = OfferUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(&format!("{url:?}")), "{url}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = OfferUrl::parse(&s);
        }
    }
}
