//! Reading the input: its resources, the references between them, and the
//! problems found on the way.

use super::{ImportProblem, Importer, Res, Resolved, str_of};
use serde_json::Value;

impl<'a> Importer<'a> {
    pub(super) fn problem(&mut self, idx: usize, problem: impl Into<String>) {
        let (rt, id) = self
            .resources
            .get(idx)
            .map_or(("Bundle", String::new()), |r| (r.rt, r.id.clone()));
        self.problems.push(ImportProblem {
            resource: rt.to_owned(),
            id,
            problem: problem.into(),
        });
    }

    fn bundle_problem(&mut self, id: String, problem: impl Into<String>) {
        self.problems.push(ImportProblem {
            resource: "Bundle".to_owned(),
            id,
            problem: problem.into(),
        });
    }

    pub(super) fn collect(&mut self, input: &'a Value) {
        let Some(rt) = input.get("resourceType").and_then(Value::as_str) else {
            self.bundle_problem(
                String::new(),
                "the input is not a FHIR resource: no resourceType",
            );
            return;
        };
        if rt != "Bundle" {
            self.add(input, None, 0);
            return;
        }
        match input.get("entry") {
            None => {}
            Some(Value::Array(entries)) => {
                for (i, e) in entries.iter().enumerate() {
                    let full_url = str_of(e, "fullUrl");
                    match e.get("resource") {
                        Some(r) if r.get("resourceType").and_then(Value::as_str).is_some() => {
                            self.add(r, full_url, i);
                        }
                        _ => self.bundle_problem(
                            format!("entry[{i}]"),
                            "the entry has no resource with a resourceType",
                        ),
                    }
                }
            }
            Some(_) => self.bundle_problem(String::new(), "Bundle.entry is not an array"),
        }
    }

    fn add(&mut self, r: &'a Value, full_url: Option<&str>, i: usize) {
        let rt = r
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = str_of(r, "id").map_or_else(|| format!("entry[{i}]"), str::to_owned);
        let idx = self.resources.len();
        if str_of(r, "id").is_some() {
            self.by_key.entry(format!("{rt}/{id}")).or_insert(idx);
        }
        if let Some(u) = full_url {
            self.by_key.entry(u.to_owned()).or_insert(idx);
        }
        self.resources.push(Res { rt, id, v: r });
    }

    pub(super) fn of_type(&self, rt: &str) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| self.resources[i].rt == rt)
            .collect()
    }

    pub(super) fn resolve(&self, reference: &Value) -> Resolved {
        let Some(text) = str_of(reference, "reference") else {
            return Resolved::Absent;
        };
        if let Some(&i) = self.by_key.get(text) {
            return Resolved::Found(i);
        }
        // `[base/]Type/id[/_history/n]`: keep `Type/id`.
        let path = text.split("/_history/").next().unwrap_or(text);
        let mut parts = path.rsplit('/');
        if let (Some(id), Some(rt)) = (parts.next(), parts.next())
            && let Some(&i) = self.by_key.get(&format!("{rt}/{id}"))
        {
            return Resolved::Found(i);
        }
        Resolved::Missing(text.to_owned())
    }
}
