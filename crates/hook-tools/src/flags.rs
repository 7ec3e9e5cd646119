//! A gnuflag-compatible argument scanner.
//!
//! Juju's hook tools parse their arguments with juju/gnuflag in interspersed mode (juju/gnuflag
//! `flag.go`, `parseOneGnu` / `parseGnuFlagArg`; see also `juju-hook-environment.md` §5.1). Every
//! generation of ops relies on a different corner of it (ops <= 3.3 appends `--format=json` after
//! the positionals, ops >= 3.4 puts `--` before free text), so the model must scan exactly as
//! gnuflag does, and the SDK can then emit any form it likes:
//!
//! * flags and positionals may be interspersed; a lone `-` and the empty string are positionals;
//! * `--` ends flag scanning, everything after it is positional;
//! * `--name`, `--name=value`, `--name value` for long names (two dashes, more than one letter);
//! * `-x`, `-xvalue`, `-x value` for one-letter names; `-ab` is two boolean flags;
//! * a boolean flag never consumes the next argument; `--flag=false` needs the `=`;
//! * a value flag consumes the next argument whatever it looks like.

use crate::error::UsageError;

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--app`: true when present, `--app=false` to say false explicitly.
    Bool,
    /// `-r 3`, `--relation=3`: takes one value.
    Value,
}

/// One flag a tool accepts. The first name is canonical; the others are aliases
/// (e.g. `-r` / `--relation`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag {
    pub(crate) names: &'static [&'static str],
    pub(crate) kind: Kind,
}

impl Flag {
    pub(crate) const fn boolean(names: &'static [&'static str]) -> Self {
        Flag {
            names,
            kind: Kind::Bool,
        }
    }
    pub(crate) const fn value(names: &'static [&'static str]) -> Self {
        Flag {
            names,
            kind: Kind::Value,
        }
    }
    fn canonical(&self) -> &'static str {
        self.names[0]
    }
}

/// The result of scanning argv (without argv\[0\]) against a tool's flag table.
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    /// `(canonical name, value)` in the order given; booleans carry `"true"`/`"false"`.
    flags: Vec<(&'static str, String)>,
    /// Positional arguments in order.
    pub(crate) positionals: Vec<String>,
    /// `--help` / `-h` was given (gnuflag answers it even though no tool declares it).
    pub(crate) help: bool,
}

impl Scanned {
    /// The last value given for a value flag (gnuflag's `Set` overwrites, so the last one wins).
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean flag's final value; absent means false.
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v == "true")
    }
}

/// Scans `args` (argv without the tool name) the way gnuflag does in interspersed mode.
pub(crate) fn scan(flags: &[Flag], args: &[String]) -> Result<Scanned, UsageError> {
    let mut out = Scanned::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.positionals.extend(args[i..].iter().cloned());
            break;
        }
        if arg.is_empty() || arg == "-" || !arg.starts_with('-') {
            out.positionals.push(arg.clone());
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some(("", _)) => {
                    return Err(UsageError::new(format!("empty option in argument {arg:?}")));
                }
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let Some(flag) = lookup(flags, name) else {
                if name == "help" || name == "h" {
                    out.help = true;
                    continue;
                }
                return Err(UsageError::new(crate::error::msg::option_not_defined(name)));
            };
            match (flag.kind, inline) {
                (Kind::Bool, None) => out.flags.push((flag.canonical(), "true".into())),
                (Kind::Bool, Some(v)) => {
                    let b = parse_go_bool(&v).ok_or_else(|| {
                        UsageError::new(crate::error::msg::invalid_value(
                            &v,
                            name,
                            &format!("strconv.ParseBool: parsing {v:?}: invalid syntax"),
                        ))
                    })?;
                    out.flags.push((flag.canonical(), b.to_string()));
                }
                (Kind::Value, Some(v)) => out.flags.push((flag.canonical(), v)),
                (Kind::Value, None) => {
                    let Some(v) = args.get(i) else {
                        return Err(UsageError::new(crate::error::msg::needs_argument(name)));
                    };
                    i += 1;
                    out.flags.push((flag.canonical(), v.clone()));
                }
            }
            continue;
        }
        // One or more single-letter flags: `-r3`, `-r 3`, `-ab`.
        let mut rest = &arg[1..];
        while let Some(c) = rest.chars().next() {
            let name = &rest[..c.len_utf8()];
            rest = &rest[c.len_utf8()..];
            let Some(flag) = lookup(flags, name) else {
                if name == "h" {
                    out.help = true;
                    continue;
                }
                return Err(UsageError::new(crate::error::msg::option_not_defined(name)));
            };
            match flag.kind {
                // gnuflag hands `-a=x` to a boolean as the value "=x" (only long flags drop the `=`).
                Kind::Bool if rest.starts_with('=') => {
                    let v = std::mem::take(&mut rest);
                    let b = parse_go_bool(v).ok_or_else(|| {
                        UsageError::new(crate::error::msg::invalid_value(
                            v,
                            name,
                            &format!("strconv.ParseBool: parsing {v:?}: invalid syntax"),
                        ))
                    })?;
                    out.flags.push((flag.canonical(), b.to_string()));
                }
                Kind::Bool => out.flags.push((flag.canonical(), "true".into())),
                Kind::Value => {
                    let v = if !rest.is_empty() {
                        let v = rest.to_owned();
                        rest = "";
                        v
                    } else if let Some(v) = args.get(i) {
                        i += 1;
                        v.clone()
                    } else {
                        return Err(UsageError::new(crate::error::msg::needs_argument(name)));
                    };
                    out.flags.push((flag.canonical(), v));
                }
            }
        }
    }
    Ok(out)
}

fn lookup<'f>(flags: &'f [Flag], name: &str) -> Option<&'f Flag> {
    flags.iter().find(|f| f.names.contains(&name))
}

/// Go's `strconv.ParseBool`, which gnuflag uses for `--flag=value` on booleans.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// How a flag is written back: `--name` for long names, `-n` for one letter (gnuflag's
/// `flagWithMinus`).
pub(crate) fn with_dashes(name: &str) -> String {
    if name.chars().count() > 1 {
        format!("--{name}")
    } else {
        format!("-{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        Flag::value(&["r", "relation"]),
        Flag::boolean(&["app"]),
        Flag::value(&["format"]),
        Flag::boolean(&["a", "all"]),
    ];

    fn s(args: &[&str]) -> Result<Scanned, UsageError> {
        scan(
            FLAGS,
            &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn interspersed_flags_and_positionals() {
        let got = s(&["-r", "3", "-", "ca", "--app", "--format=json"]).unwrap();
        assert_eq!(got.positionals, ["-", "ca"]);
        assert_eq!(got.value("r"), Some("3"));
        assert!(got.bool("app"));
        assert_eq!(got.value("format"), Some("json"));
    }

    #[test]
    fn attached_short_value_and_long_alias() {
        let got = s(&["-r7", "--relation", "x:9"]).unwrap();
        assert_eq!(got.value("r"), Some("x:9"), "last value wins");
    }

    #[test]
    fn double_dash_ends_flags() {
        let got = s(&["--app", "--", "--format=json", "-r"]).unwrap();
        assert_eq!(got.positionals, ["--format=json", "-r"]);
        assert!(got.value("format").is_none());
    }

    #[test]
    fn bool_with_explicit_value_and_no_consumption() {
        let got = s(&["--app=False", "true"]).unwrap();
        assert!(!got.bool("app"));
        assert_eq!(got.positionals, ["true"]);
    }

    #[test]
    fn combined_short_booleans() {
        let got = s(&["-a"]).unwrap();
        assert!(got.bool("a"));
    }

    #[test]
    fn value_flag_consumes_dash_arguments() {
        let got = s(&["-r", "--app"]).unwrap();
        assert_eq!(got.value("r"), Some("--app"));
        assert!(!got.bool("app"));
    }

    #[test]
    fn errors_use_juju_wording() {
        assert_eq!(
            s(&["--foo"]).unwrap_err().to_string(),
            "option provided but not defined: --foo"
        );
        assert_eq!(
            s(&["-x"]).unwrap_err().to_string(),
            "option provided but not defined: -x"
        );
        assert_eq!(
            s(&["-r"]).unwrap_err().to_string(),
            "option needs an argument: -r"
        );
        assert_eq!(
            s(&["--app=maybe"]).unwrap_err().to_string(),
            "invalid value \"maybe\" for option --app: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
    }

    #[test]
    fn gnuflag_corner_cases() {
        // juju/gnuflag flag.go parseOne / parseFlagArg.
        assert_eq!(
            s(&["--=x"]).unwrap_err().to_string(),
            "empty option in argument \"--=x\""
        );
        assert_eq!(
            s(&["-a=true"]).unwrap_err().to_string(),
            "invalid value \"=true\" for option -a: strconv.ParseBool: parsing \"=true\": invalid syntax"
        );
        assert_eq!(
            s(&["-r=3"]).unwrap().value("r"),
            Some("=3"),
            "short flags keep the '='"
        );
        assert_eq!(s(&["--relation=3"]).unwrap().value("r"), Some("3"));
        assert_eq!(
            s(&["--app="]).unwrap_err().to_string(),
            "invalid value \"\" for option --app: strconv.ParseBool: parsing \"\": invalid syntax"
        );
    }

    #[test]
    fn help_is_recognised() {
        assert!(s(&["--help"]).unwrap().help);
        assert!(s(&["-h"]).unwrap().help);
    }

    #[test]
    fn empty_string_is_positional() {
        let got = s(&["active", ""]).unwrap();
        assert_eq!(got.positionals, ["active", ""]);
    }
}
