//! Engine tests against a real ipykernel: the environment's `python3` kernel must be
//! found (`make test-rust` runs with the project's virtualenv active).

use super::*;
use crate::params::ParamValue;
use proptest::prelude::*;
use serde_json::json;

struct Quiet;
impl RunObserver for Quiet {}

fn search() -> KernelSearch {
    let search = KernelSearch::from_env();
    if let Err(e) = search.find("python3") {
        panic!("these tests need ipykernel: run them through `make test-rust` ({e})");
    }
    search
}

fn notebook_file(dir: &Path, cells: &[Value]) -> Location {
    let nb = json!({
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join("in.ipynb");
    std::fs::write(&path, nb.to_string()).unwrap();
    Location::Local(path)
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    crate::runtime::runtime().block_on(future)
}

fn code(i: usize, source: &str, tags: &[&str]) -> Value {
    json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {"tags": tags}, "outputs": [], "execution_count": null, "source": source})
}

fn run(options: RunOptions) -> Result<Notebook> {
    let (_tx, rx) = watch::channel(false);
    crate::runtime::runtime().block_on(async { execute(options, &mut Quiet, rx).await })
}

fn stdout_of(nb: &Notebook, cell: usize) -> String {
    nb.cells()[cell]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] == "stdout")
        .map(|o| crate::notebook::lines::join(&o["text"]).unwrap())
        .collect()
}

/// Encodes a value as the kernel-side `enc` below does, exactly (floats by their bits).
fn encode(value: &ParamValue) -> Value {
    match value {
        ParamValue::None => json!(["none"]),
        ParamValue::Bool(b) => json!(["bool", b]),
        ParamValue::Int(digits) => json!(["int", digits]),
        ParamValue::Float(f) if f.is_nan() => json!(["float", "nan"]),
        ParamValue::Float(f) => json!(["float", (f.to_bits() as i64).to_string()]),
        ParamValue::Str(s) => json!(["str", s]),
        ParamValue::List(items) => json!(["list", items.iter().map(encode).collect::<Vec<_>>()]),
        ParamValue::Dict(entries) => json!([
            "dict",
            entries
                .iter()
                .map(|(k, v)| json!([k, encode(v)]))
                .collect::<Vec<_>>()
        ]),
    }
}

const ENCODER: &str = r#"import json, math, struct
def enc(v):
    if v is None: return ["none"]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float):
        return ["float", "nan"] if math.isnan(v) else ["float", str(struct.unpack("<q", struct.pack("<d", v))[0])]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, list): return ["list", [enc(x) for x in v]]
    if isinstance(v, dict): return ["dict", [[k, enc(x)] for k, x in v.items()]]
    return ["unexpected", repr(v)]
"#;

fn leaf() -> impl Strategy<Value = ParamValue> {
    prop_oneof![
        Just(ParamValue::None),
        any::<bool>().prop_map(ParamValue::Bool),
        any::<i64>().prop_map(|i| ParamValue::Int(i.to_string())),
        "-?[1-9][0-9]{18,40}".prop_map(ParamValue::Int),
        any::<f64>().prop_map(ParamValue::Float),
        Just(ParamValue::Float(f64::INFINITY)),
        Just(ParamValue::Float(f64::NEG_INFINITY)),
        Just(ParamValue::Float(f64::NAN)),
        any::<String>().prop_map(ParamValue::Str),
        "[\"'\\\\\n\r\t$ {}#é😀\u{2028}\u{0}\u{1b}a-z]{0,12}".prop_map(ParamValue::Str),
    ]
}

fn param_value() -> impl Strategy<Value = ParamValue> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(ParamValue::List),
            prop::collection::vec(("[a-zA-Z\"\\\\ é]{0,6}", inner), 0..5).prop_map(|entries| {
                // Later keys win in a dict literal: keep the first of each, as Python would see one.
                let mut seen = std::collections::HashSet::new();
                ParamValue::Dict(
                    entries
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any value injected as a parameter and evaluated in a real kernel comes back equal.
    #[test]
    fn injected_values_evaluate_to_themselves(values in prop::collection::vec(param_value(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..values.len()).map(|i| format!("p{i}")).collect();
        let show = format!("{ENCODER}print(json.dumps([enc(v) for v in [{}]]))", names.join(", "));
        let input = notebook_file(dir.path(), &[code(0, "", &["parameters"]), code(1, &show, &[])]);
        let parameters: Parameters = names.iter().cloned().zip(values.iter().cloned()).collect();
        let nb = run(RunOptions { input, parameters, search: search(), ..Default::default() }).unwrap();
        let printed: Value = serde_json::from_str(stdout_of(&nb, 2).trim()).unwrap();
        let expected = Value::Array(values.iter().map(encode).collect());
        prop_assert_eq!(printed, expected);
    }
}

#[test]
fn outputs_timings_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook_file(
        dir.path(),
        &[
            code(
                0,
                "print('a'); import sys; print('e', file=sys.stderr); print('b')",
                &[],
            ),
            json!({"cell_type": "markdown", "id": "m", "metadata": {"keep": 1}, "source": "# hi"}),
            code(2, "h = display('one', display_id=True)", &[]),
            code(3, "h.update('two'); 6 * 7", &[]),
        ],
    );
    let output = dir.path().join("out.ipynb");
    let nb = run(RunOptions {
        input,
        output: Some(output.clone().into()),
        search: search(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(stdout_of(&nb, 0), "a\nb\n");
    assert_eq!(nb.cells()[0]["outputs"][1]["name"], "stderr");
    assert_eq!(nb.cells()[1]["metadata"]["keep"], 1);
    assert_eq!(
        nb.cells()[2]["outputs"][0]["data"]["text/plain"],
        json!("'two'")
    );
    assert_eq!(
        nb.cells()[3]["outputs"][0]["data"]["text/plain"],
        json!("42")
    );
    assert_eq!(nb.cells()[3]["execution_count"], 3);
    assert_eq!(
        nb.cells()[3]["metadata"]["papermill"]["status"],
        "completed"
    );
    assert_eq!(nb.metadata()["language_info"]["name"], "python");
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(written, nb.to_nbformat_string());
}

#[test]
fn failing_cell_stops_the_run_with_a_banner() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook_file(
        dir.path(),
        &[
            code(0, "x = 1", &[]),
            code(1, "raise ValueError('bad')", &[]),
            code(2, "print('never')", &[]),
        ],
    );
    let output = dir.path().join("out.ipynb");
    let err = run(RunOptions {
        input: input.clone(),
        output: Some(output.clone().into()),
        search: search(),
        ..Default::default()
    })
    .unwrap_err();
    // Named as the prompts show the cell (the second code cell ran second: In [2]).
    assert_eq!(err.to_string(), "In [2] raised ValueError: bad");
    match err {
        Error::CellExecution {
            cell_index,
            ename,
            evalue,
            traceback,
            ..
        } => {
            assert_eq!(
                (cell_index, ename.as_str(), evalue.as_str()),
                (1, "ValueError", "bad")
            );
            assert!(!traceback.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let written = Notebook::parse(&std::fs::read_to_string(&output).unwrap(), &output).unwrap();
    let tags: Vec<bool> = written
        .cells()
        .iter()
        .map(|c| cell_has_tag(c, papermill::ERROR_MARKER_TAG))
        .collect();
    assert_eq!(tags, [true, false, true, false, false]);
    // papermill's banner structure, in our words.
    let banner = cell_source(&written.cells()[0]);
    assert!(
        banner.contains(
            "The run stopped at an exception in '<a href=\"#papermill-error-cell\">In [2]</a>'."
        ),
        "{banner}"
    );
    let anchor = cell_source(&written.cells()[2]);
    assert!(
        anchor.contains("<span id=\"papermill-error-cell\"")
            && anchor.contains("The run stopped here"),
        "{anchor}"
    );
    assert!(!banner.contains("papermill encountered") && !anchor.contains("papermill encountered"));
    assert_eq!(written.cells()[4]["outputs"], json!([]));
    assert_eq!(written.metadata()["papermill"]["exception"], true);

    let nb = run(RunOptions {
        input,
        allow_errors: true,
        search: search(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(stdout_of(&nb, 2), "never\n");
}

#[test]
fn cell_timeout_interrupts_and_a_dead_kernel_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook_file(dir.path(), &[code(0, "import time; time.sleep(30)", &[])]);
    let started = std::time::Instant::now();
    let err = run(RunOptions {
        input,
        cell_timeout: Some(Duration::from_millis(500)),
        search: search(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                cell_index: Some(0),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "In [1] did not finish within 0.5s (cell timeout)"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let input = notebook_file(
        dir.path(),
        &[
            code(0, "print(1)", &[]),
            code(1, "import os; os.kill(os.getpid(), 9)", &[]),
        ],
    );
    let err = run(RunOptions {
        input,
        search: search(),
        ..Default::default()
    })
    .unwrap_err();
    match err {
        Error::KernelDied {
            cell_index,
            message,
        } => {
            assert_eq!(cell_index, Some(1));
            assert!(message.contains("signal 9"), "{message}");
            assert!(
                message.starts_with("the kernel died while running In [2]: "),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn problems_are_found_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook_file(dir.path(), &[code(0, "n = 1", &["parameters"])]);
    let output = dir.path().join("out.ipynb");
    let bad = [("1n".to_string(), ParamValue::Int("2".into()))]
        .into_iter()
        .collect();
    let err = block_on(prepare(RunOptions {
        input: input.clone(),
        output: Some(output.clone().into()),
        parameters: bad,
        search: search(),
        ..Default::default()
    }));
    assert!(matches!(err, Err(Error::Parameter { .. })));
    let err = block_on(prepare(RunOptions {
        input,
        output: Some(output.clone().into()),
        kernel_name: Some("no-such-kernel".into()),
        search: search(),
        ..Default::default()
    }));
    assert!(matches!(err, Err(Error::KernelNotFound { .. })));
    assert!(!output.exists());
}

#[test]
fn cells_are_named_by_their_prompts() {
    let cell = |count: Value, kind: &str| json!({"cell_type": kind, "execution_count": count, "source": ""});
    let cells = [
        json!({"cell_type": "markdown", "source": "# t"}),
        cell(json!(1), "code"),
        cell(json!(2), "code"),
        json!({"cell_type": "markdown", "source": "text"}),
        cell(Value::Null, "code"),
    ];
    assert_eq!(cell_label(&cells, 2), "In [2]");
    // Not numbered yet (the kernel died or timed out first): the next number, as the engine
    // records a dead kernel's cell.
    assert_eq!(cell_label(&cells, 4), "In [3]");
    assert_eq!(cell_label(&[cell(Value::Null, "code")], 0), "In [1]");
}

#[test]
fn tagged_cells_are_skipped_and_run_cells_are_timed() {
    let dir = tempfile::tempdir().unwrap();
    let input = notebook_file(
        dir.path(),
        &[
            code(0, "x = 1", &[]),
            code(1, "x = 2", &[SKIP_TAG]),
            code(2, "x = 3", &["mine"]),
            code(3, "print(x)", &[]),
        ],
    );
    let nb = run(RunOptions {
        input: input.clone(),
        search: search(),
        ..Default::default()
    })
    .unwrap();
    let counts: Vec<Value> = nb
        .cells()
        .iter()
        .map(|c| c["execution_count"].clone())
        .collect();
    assert_eq!(counts, [json!(1), Value::Null, json!(2), json!(3)]);
    assert_eq!(stdout_of(&nb, 3), "3\n");
    assert!(nb.cells()[1]["metadata"].get("execution").is_none());
    let timings = nb.cells()[0]["metadata"]["execution"].as_object().unwrap();
    let mut keys: Vec<&str> = timings.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "iopub.execute_input",
            "iopub.status.busy",
            "iopub.status.idle",
            "shell.execute_reply"
        ]
    );
    let nb = run(RunOptions {
        input,
        skip_cells_with_tag: Some("mine".into()),
        search: search(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(stdout_of(&nb, 3), "2\n");
}
