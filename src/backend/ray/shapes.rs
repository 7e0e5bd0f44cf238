//! Resource shapes: the Ray backend's machine types. An admin names what an execution's
//! entrypoint reserves on the cluster (`{"gpu-small": {"num_cpus": 4, "num_gpus": 1,
//! "memory": "16GiB", "resources": {"accelerator_type:T4": 1}}}`); the dialog offers the
//! names, in the order given, with a description.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shape {
    /// Ray's `entrypoint_num_cpus` (fractions allowed).
    pub num_cpus: Option<f64>,
    pub num_gpus: Option<f64>,
    /// Ray's `entrypoint_memory`, in bytes: a number, or text with a unit ("16GiB", "512MB").
    #[serde(deserialize_with = "memory")]
    pub memory: Option<u64>,
    /// Custom resources (`entrypoint_resources`), e.g. `{"accelerator_type:A100": 1}`.
    pub resources: BTreeMap<String, f64>,
    /// Shown in the dialog; by default made from the numbers.
    pub description: String,
}

impl Shape {
    pub fn check(&self) -> Result<(), String> {
        let amounts = [("num_cpus", self.num_cpus), ("num_gpus", self.num_gpus)]
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n.to_owned(), v)))
            .chain(self.resources.iter().map(|(n, v)| (n.clone(), *v)));
        for (name, value) in amounts {
            if !(value >= 0.0) || !value.is_finite() {
                return Err(format!(
                    "{name} must be a number of at least 0 (given {value})"
                ));
            }
        }
        Ok(())
    }

    /// "4 CPUs, 1 GPU, 16 GiB memory, accelerator_type:T4: 1", or the admin's words.
    pub fn describe(&self) -> String {
        if !self.description.is_empty() {
            return self.description.clone();
        }
        let count = |n: f64, one: &str, many: &str| {
            format!("{} {}", number(n), if n == 1.0 { one } else { many })
        };
        let mut parts = Vec::new();
        if let Some(n) = self.num_cpus {
            parts.push(count(n, "CPU", "CPUs"));
        }
        if let Some(n) = self.num_gpus.filter(|n| *n > 0.0) {
            parts.push(count(n, "GPU", "GPUs"));
        }
        if let Some(bytes) = self.memory {
            parts.push(format!("{} memory", bytes_text(bytes)));
        }
        for (name, n) in &self.resources {
            parts.push(format!("{name}: {}", number(*n)));
        }
        if parts.is_empty() {
            "no resources reserved".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn bytes_text(bytes: u64) -> String {
    for (unit, size) in [("TiB", 1u64 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)] {
        if bytes >= size {
            let amount = (bytes as f64 / size as f64 * 100.0).round() / 100.0;
            return format!("{} {unit}", number(amount));
        }
    }
    format!("{bytes} bytes")
}

/// Bytes from a number or a text with a unit: binary (KiB, MiB, GiB, TiB, or Ki, Mi, Gi,
/// Ti as Kubernetes writes them) or decimal (KB, MB, GB, TB, or K, M, G, T).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an amount of memory (e.g. 16GiB, 512MB)"))?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "Ki" | "KiB" => 1024.0,
        "Mi" | "MiB" => 1024.0 * 1024.0,
        "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "Ti" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ))
        }
    };
    Ok((value * factor).round() as u64)
}

fn memory<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Bytes(u64),
        Text(String),
    }
    match Option::<Amount>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Amount::Bytes(n)) => Ok(Some(n)),
        Some(Amount::Text(text)) => parse_bytes(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A JSON object of name -> shape, in its order.
pub fn ordered<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, Shape)>, D::Error> {
    struct Shapes;
    impl<'de> Visitor<'de> for Shapes {
        type Value = Vec<(String, Shape)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(
                "an object of machine type name -> {num_cpus, num_gpus, memory, resources, description}",
            )
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((name, shape)) = map.next_entry::<String, Shape>()? {
                out.push((name, shape));
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Shapes)
}

/// Shapes from JSON text (the `NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES` variable).
pub fn parse_json(text: &str) -> Result<Vec<(String, Shape)>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let shapes = ordered(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_takes_units_as_admins_write_them() {
        assert_eq!(parse_bytes("16GiB").unwrap(), 16 << 30);
        assert_eq!(parse_bytes("16Gi").unwrap(), 16 << 30);
        assert_eq!(parse_bytes("512 MB").unwrap(), 512_000_000);
        assert_eq!(parse_bytes("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_bytes("2048").unwrap(), 2048);
        assert!(parse_bytes("lots").is_err() && parse_bytes("3 parsecs").is_err());
    }

    #[test]
    fn shapes_keep_their_order_and_describe_themselves() {
        let shapes = parse_json(
            r#"{"small": {"num_cpus": 1}, "gpu": {"num_cpus": 4, "num_gpus": 1, "memory": "16GiB",
                "resources": {"accelerator_type:T4": 1}}, "named": {"description": "the big one"}}"#,
        )
        .unwrap();
        let names: Vec<&str> = shapes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["small", "gpu", "named"]);
        assert_eq!(shapes[0].1.describe(), "1 CPU");
        assert_eq!(
            shapes[1].1.describe(),
            "4 CPUs, 1 GPU, 16 GiB memory, accelerator_type:T4: 1"
        );
        assert_eq!(shapes[2].1.describe(), "the big one");
        assert!(parse_json(r#"{"x": {"cpus": 1}}"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(parse_json(r#"["x"]"#).is_err());
    }
}
