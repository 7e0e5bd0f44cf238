//! Labels of a job, by Google's rules: keys and values of at most 63 characters, lowercase
//! letters, digits, `_` and `-` (international letters too), a key starting with a letter;
//! at most 64 labels. A label that breaks them is refused at submission, naming it, rather
//! than changed behind the user's back.

use super::{EXECUTION_LABEL, SCHEDULE_LABEL};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What the submission's labels become on the job (ours are added after).
pub fn user_labels(labels: &Map<String, Value>) -> Result<BTreeMap<String, String>> {
    if labels.len() > 62 {
        return Err(Error::invalid(
            "labels",
            "at most 62 labels (a job has 64, two are ours)",
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in labels {
        let Value::String(value) = value else {
            return Err(Error::invalid(
                "labels",
                format!("label {key:?}: give a string value"),
            ));
        };
        if key == EXECUTION_LABEL || key == SCHEDULE_LABEL {
            return Err(Error::invalid(
                "labels",
                format!("label {key:?} is set by notebook-executor"),
            ));
        }
        check(key, true)
            .map_err(|why| Error::invalid("labels", format!("label key {key:?}: {why}")))?;
        check(value, false).map_err(|why| {
            Error::invalid("labels", format!("label {key:?}: value {value:?}: {why}"))
        })?;
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

fn check(text: &str, is_key: bool) -> std::result::Result<(), &'static str> {
    if text.chars().count() > 63 {
        return Err("at most 63 characters");
    }
    if is_key && !text.chars().next().is_some_and(|c| c.is_lowercase()) {
        return Err("must start with a lowercase letter");
    }
    let allowed = |c: char| c.is_lowercase() || c.is_numeric() || c == '_' || c == '-';
    if !text.chars().all(|c| allowed(c) && !c.is_uppercase()) {
        return Err("only lowercase letters, digits, '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::user_labels;
    use serde_json::json;

    #[test]
    fn labels_follow_googles_rules() {
        let ok =
            json!({"team": "data-science", "cost_centre": "42", "été": "bientôt", "empty": ""});
        assert_eq!(user_labels(ok.as_object().unwrap()).unwrap().len(), 4);
        for bad in [
            json!({"Team": "a"}),
            json!({"team": "A"}),
            json!({"1team": "a"}),
            json!({"team": "a b"}),
            json!({"team": 5}),
            json!({"k": "x".repeat(64)}),
            json!({"notebook-executor-execution": "x"}),
        ] {
            assert!(user_labels(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }
}
