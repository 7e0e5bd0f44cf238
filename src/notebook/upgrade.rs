//! nbformat 3 -> 4, through the nbformat crate's upgrade.

use serde_json::{json, Map, Value};

pub fn from_v3(text: &str) -> Result<Map<String, Value>, String> {
    let original: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let parsed = nbformat::parse_notebook(text)
        .map_err(|e| format!("cannot read this nbformat 3 notebook: {e}"))?;
    let nbformat::Notebook::V3(v3) = parsed else {
        return Err("expected an nbformat 3 notebook".into());
    };
    let v4 = nbformat::upgrade_v3_notebook(v3)
        .map_err(|e| format!("cannot upgrade nbformat 3 to 4: {e}"))?;
    let text =
        nbformat::serialize_notebook(&nbformat::Notebook::V4(v4)).map_err(|e| e.to_string())?;
    let Value::Object(mut root) = serde_json::from_str(&text).map_err(|e| e.to_string())? else {
        return Err("the upgraded notebook is not an object".into());
    };
    // nbformat moves a v3 code cell's `collapsed` into its metadata; the crate drops it.
    let v3_cells = original["worksheets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|w| w["cells"].as_array().into_iter().flatten());
    if let Some(Value::Array(cells)) = root.get_mut("cells") {
        for (v4, v3) in cells.iter_mut().zip(v3_cells) {
            if let (Some(collapsed), Some(metadata)) = (
                v3.get("collapsed"),
                v4.get_mut("metadata").and_then(Value::as_object_mut),
            ) {
                if v3["cell_type"] == "code" {
                    metadata.insert("collapsed".into(), collapsed.clone());
                }
            }
        }
    }
    // As nbformat's upgrade: v3-only metadata goes; `orig_nbformat` is transient there and
    // never written, so it is not added here.
    if let Some(Value::Object(metadata)) = root.get_mut("metadata") {
        metadata.remove("name");
        metadata.remove("signature");
        // v3 named the language on each code cell and had no kernelspec (IPython 1 and 2
        // wrote Python notebooks only): keep it as the notebook's language, which picks
        // the kernel as nbclient's default `python` does. The kernel's own language_info
        // replaces it when the notebook runs.
        if !metadata.contains_key("kernelspec") && !metadata.contains_key("language_info") {
            let language = original["worksheets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|w| w["cells"].as_array().into_iter().flatten())
                .find_map(|c| c["language"].as_str().filter(|l| !l.is_empty()))
                .unwrap_or("python");
            metadata.insert("language_info".into(), json!({ "name": language }));
        }
    }
    Ok(root)
}
