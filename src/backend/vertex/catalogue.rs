//! What Vertex AI custom training offers, as far as the submit dialog and validation need:
//! the common machine types, the API's accelerator enum, the regions with custom training,
//! and which accelerators go with which machine family (and how many). Configuration
//! narrows these lists; it never widens the rules.

pub const DEFAULT_MACHINE_TYPE: &str = "n1-standard-4";
pub const DEFAULT_REGION: &str = "us-central1";

pub const MACHINE_TYPES: &[&str] = &[
    "n1-standard-4",
    "n1-standard-8",
    "n1-standard-16",
    "n1-standard-32",
    "n1-standard-64",
    "n1-standard-96",
    "n1-highmem-2",
    "n1-highmem-4",
    "n1-highmem-8",
    "n1-highmem-16",
    "n1-highmem-32",
    "n1-highmem-64",
    "n1-highmem-96",
    "n1-highcpu-16",
    "n1-highcpu-32",
    "n1-highcpu-64",
    "n1-highcpu-96",
    "e2-standard-4",
    "e2-standard-8",
    "e2-standard-16",
    "e2-standard-32",
    "e2-highmem-2",
    "e2-highmem-4",
    "e2-highmem-8",
    "e2-highmem-16",
    "e2-highcpu-16",
    "e2-highcpu-32",
    "n2-standard-4",
    "n2-standard-8",
    "n2-standard-16",
    "n2-standard-32",
    "n2-standard-48",
    "n2-standard-64",
    "n2-standard-80",
    "n2-highmem-2",
    "n2-highmem-4",
    "n2-highmem-8",
    "n2-highmem-16",
    "n2-highmem-32",
    "n2-highmem-48",
    "n2-highmem-64",
    "n2-highmem-80",
    "n2-highcpu-16",
    "n2-highcpu-32",
    "n2-highcpu-48",
    "n2-highcpu-64",
    "n2-highcpu-80",
    "c2-standard-4",
    "c2-standard-8",
    "c2-standard-16",
    "c2-standard-30",
    "c2-standard-60",
    "a2-highgpu-1g",
    "a2-highgpu-2g",
    "a2-highgpu-4g",
    "a2-highgpu-8g",
    "a2-megagpu-16g",
    "a2-ultragpu-1g",
    "a2-ultragpu-2g",
    "a2-ultragpu-4g",
    "a2-ultragpu-8g",
    "g2-standard-4",
    "g2-standard-8",
    "g2-standard-12",
    "g2-standard-16",
    "g2-standard-24",
    "g2-standard-32",
    "g2-standard-48",
    "g2-standard-96",
    "a3-highgpu-1g",
    "a3-highgpu-2g",
    "a3-highgpu-4g",
    "a3-highgpu-8g",
    "a3-megagpu-8g",
];

/// GPU values of the API's `MachineSpec.acceleratorType` enum that custom training takes
/// (a test checks them against the published discovery document).
pub const ACCELERATOR_TYPES: &[&str] = &[
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_L4",
    "NVIDIA_H100_80GB",
    "NVIDIA_H100_MEGA_80GB",
];

pub const REGIONS: &[&str] = &[
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
    "us-west2",
    "us-west4",
    "northamerica-northeast1",
    "southamerica-east1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west9",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast3",
    "asia-south1",
    "asia-southeast1",
    "australia-southeast1",
    "me-west1",
];

/// The accelerators a machine type takes: any of `types` in one of `counts`.
pub struct Fit {
    pub types: &'static [&'static str],
    pub counts: Vec<i64>,
    /// The machine comes with its GPUs: an accelerator must be given.
    pub required: bool,
}

/// The family rules: n1 with T4/V100/P100/P4; a2 with A100 (a2-ultragpu: the 80 GB one);
/// g2 with L4; a3 with H100. A family's GPU machines carry their count in their name
/// (`a2-highgpu-4g`); g2 by size. Other families take no accelerator.
pub fn fit(machine_type: &str) -> Option<Fit> {
    let gpus_in_name = || {
        machine_type
            .rsplit('-')
            .next()
            .and_then(|last| last.strip_suffix('g'))
            .and_then(|n| n.parse::<i64>().ok())
            .map(|n| vec![n])
            .unwrap_or_default()
    };
    if machine_type.starts_with("n1-") {
        return Some(Fit {
            types: &[
                "NVIDIA_TESLA_T4",
                "NVIDIA_TESLA_V100",
                "NVIDIA_TESLA_P100",
                "NVIDIA_TESLA_P4",
            ],
            counts: vec![1, 2, 4, 8],
            required: false,
        });
    }
    if machine_type.starts_with("a2-ultragpu-") {
        return Some(Fit {
            types: &["NVIDIA_A100_80GB"],
            counts: gpus_in_name(),
            required: true,
        });
    }
    if machine_type.starts_with("a2-") {
        return Some(Fit {
            types: &["NVIDIA_TESLA_A100"],
            counts: gpus_in_name(),
            required: true,
        });
    }
    if machine_type.starts_with("a3-megagpu-") {
        return Some(Fit {
            types: &["NVIDIA_H100_MEGA_80GB"],
            counts: gpus_in_name(),
            required: true,
        });
    }
    if machine_type.starts_with("a3-") {
        return Some(Fit {
            types: &["NVIDIA_H100_80GB"],
            counts: gpus_in_name(),
            required: true,
        });
    }
    if let Some(size) = machine_type.strip_prefix("g2-standard-") {
        let count = match size {
            "24" => 2,
            "48" => 4,
            "96" => 8,
            _ => 1,
        };
        return Some(Fit {
            types: &["NVIDIA_L4"],
            counts: vec![count],
            required: true,
        });
    }
    None
}
