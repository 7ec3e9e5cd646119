//! What the readers print: the status table, an action's result, times.

use crate::ui::{self, Table};

pub(super) fn time_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

pub(super) fn print_status(st: &model::Status) {
    let mut t = Table::new(["Model", "Time", "Pending hooks"]);
    t.row([
        st.model.clone(),
        st.time.clone(),
        st.pending_hooks.to_string(),
    ]);
    println!("{}", t.render());
    let mut apps = Table::new(["App", "Status", "Charm", "Rev", "Units", "Message"]);
    for a in &st.applications {
        apps.row([
            a.name.clone(),
            paint_status(&a.status),
            a.charm.clone(),
            a.revision.to_string(),
            a.units.len().to_string(),
            a.message.clone(),
        ]);
    }
    println!("{}", apps.render());
    let mut units = Table::new(["Unit", "Workload", "Agent", "Address", "Ports", "Message"]);
    for a in &st.applications {
        for u in &a.units {
            let name = if u.leader {
                format!("{}*", u.name)
            } else {
                u.name.clone()
            };
            units.row([
                name,
                paint_status(&u.workload),
                u.agent.clone(),
                u.address.clone(),
                u.ports.join(","),
                u.message.clone(),
            ]);
        }
    }
    print!("{}", units.render());
    if !st.relations.is_empty() {
        println!();
        let mut rels = Table::new(["Id", "Relation", "Interface", "Type"]);
        for r in &st.relations {
            let kind = if r.peer {
                "peer"
            } else if r.dying {
                "dying"
            } else {
                "regular"
            };
            rels.row([
                r.id.to_string(),
                r.display(),
                r.interface.clone(),
                kind.into(),
            ]);
        }
        print!("{}", rels.render());
    }
    if !st.saas.is_empty() {
        println!();
        let mut t = Table::new(["SAAS", "Status", "Store", "URL"]);
        for r in &st.saas {
            t.row([
                r.name.clone(),
                paint_status(&r.status),
                "local".into(),
                format!("admin/{}.{}", r.model_name, r.offer),
            ]);
        }
        print!("{}", t.render());
    }
    if !st.offers.is_empty() {
        println!();
        print!("{}", offers_table(&st.offers).render());
    }
}

/// `offers`: one row per offer and consuming relation.
pub(super) fn offers_table(offers: &[model::OfferView]) -> Table {
    let mut t = Table::new([
        "Offer",
        "Application",
        "Charm",
        "Endpoints",
        "Connected",
        "URL",
    ]);
    for o in offers {
        let endpoints = o
            .endpoints
            .iter()
            .map(|e| format!("{} ({} {})", e.name, e.interface, model::role_name(e.role)))
            .collect::<Vec<_>>()
            .join(", ");
        let connected = o
            .connections
            .iter()
            .map(|c| format!("{}:{} ({})", c.model, c.app, c.status))
            .collect::<Vec<_>>()
            .join(", ");
        t.row([
            o.name.clone(),
            o.app.clone(),
            format!("{}-{}", o.charm, o.charm_rev),
            endpoints,
            if connected.is_empty() {
                "-".into()
            } else {
                connected
            },
            o.url.clone(),
        ]);
    }
    t
}

fn paint_status(s: &str) -> String {
    match s {
        "active" => ui::green(s),
        "error" | "blocked" => ui::red(s),
        _ => s.to_owned(),
    }
}

pub(super) fn print_action(run: &model::ActionRun) {
    println!(
        "{}: action {} ({}) {}",
        run.unit,
        run.name,
        run.id,
        if run.status == "completed" {
            ui::green(&run.status)
        } else {
            ui::red(&run.status)
        }
    );
    if !run.message.is_empty() {
        println!("message: {}", run.message);
    }
    for l in &run.log {
        println!("log: {l}");
    }
    if let Some(obj) = run.results.as_object() {
        if !obj.is_empty() {
            print!(
                "{}",
                serde_norway::to_string(&run.results).unwrap_or_default()
            );
        }
    }
}
