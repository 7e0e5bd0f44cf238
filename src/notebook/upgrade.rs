//! nbformat 3 -> 4, through the nbformat crate's upgrade.

use serde_json::{Map, Value};

pub fn from_v3(text: &str) -> Result<Map<String, Value>, String> {
    let parsed = nbformat::parse_notebook(text).map_err(|e| format!("cannot read this nbformat 3 notebook: {e}"))?;
    let nbformat::Notebook::V3(v3) = parsed else {
        return Err("expected an nbformat 3 notebook".into());
    };
    let v4 = nbformat::upgrade_v3_notebook(v3).map_err(|e| format!("cannot upgrade nbformat 3 to 4: {e}"))?;
    let text = nbformat::serialize_notebook(&nbformat::Notebook::V4(v4)).map_err(|e| e.to_string())?;
    let Value::Object(mut root) = serde_json::from_str(&text).map_err(|e| e.to_string())? else {
        return Err("the upgraded notebook is not an object".into());
    };
    if let Some(Value::Object(metadata)) = root.get_mut("metadata") {
        metadata.insert("orig_nbformat".into(), Value::from(3));
    }
    Ok(root)
}
