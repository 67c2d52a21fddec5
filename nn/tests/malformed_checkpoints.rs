//! Property tests of the checkpoint reader on corrupted files: valid
//! checkpoints written by the library, then truncated, flipped, overwritten,
//! grown, given huge length fields or rewritten metadata. Every reader
//! (`load_checkpoint`, `load_into`, then `Trainer::restore` and a training
//! epoch from what was loaded) must return `Ok` or a typed error: never
//! panic, never abort on an allocation, never loop.

use nn::checkpoint::{load_checkpoint, load_into, save_checkpoint, LoadedCheckpoint};
use nn::data::{xor, Dataset, Standardizer};
use nn::{Activation, Error, Mlp, Scalar, TrainConfig, Trainer};
use optim::{Adam, Schedule};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::{reason, TempDir};

/// A valid checkpoint of a trained run, and what resuming it needs.
struct Fixture<T> {
    bytes: Vec<u8>,
    /// `8 +` the header length: where the tensor data starts.
    data_start: usize,
    /// Each tensor's name and byte range in the file.
    tensors: Vec<(String, std::ops::Range<usize>)>,
    config: TrainConfig,
    data: Dataset<T>,
    model: Mlp<T>,
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 4,
        seed: 3,
        schedule: Some(Schedule::step(0.01, 3, 0.5).unwrap().with_warmup(2)),
        clip_grad_norm: Some(1.0),
        dropout: Some(0.25),
        ..TrainConfig::default()
    }
}

/// One epoch of Adam on xor, saved with its progress, settings, scaler and
/// an extra key: every part of the format is present.
fn fixture<T: Scalar>() -> Fixture<T> {
    let raw = xor::<T>(16, 0.1, 5).unwrap();
    let scaler = Standardizer::fit_dataset(&raw).unwrap();
    let data = scaler.transform_dataset(raw).unwrap();
    let mlp = Mlp::<T>::builder(&[2, 4, 2])
        .hidden(Activation::RELU)
        .seed(3)
        .build()
        .unwrap();
    let mut trainer = Trainer::new(mlp, Box::new(Adam::default()), config());
    trainer.fit(&data, None, |_| {}).unwrap();
    let dir = TempDir::new("fixture");
    let path = dir.path("good.safetensors");
    save_checkpoint(
        &path,
        &trainer.checkpoint().scaler(&scaler).extra("run", "fuzz"),
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (header, data_start) = header_of(&bytes);
    let mut tensors: Vec<(String, std::ops::Range<usize>)> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            let o = &v["data_offsets"];
            let (s, e) = (o[0].as_u64().unwrap(), o[1].as_u64().unwrap());
            (k.clone(), data_start + s as usize..data_start + e as usize)
        })
        .collect();
    tensors.sort_by_key(|(_, r)| r.start);
    Fixture {
        bytes,
        data_start,
        tensors,
        config: config(),
        data,
        model: trainer.into_mlp(),
    }
}

/// The header of a safetensors file as JSON, and where its data starts.
fn header_of(bytes: &[u8]) -> (Map<String, Value>, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), 8 + n)
}

/// A safetensors file of this header text and these data bytes (the header
/// padded with spaces to 8 bytes, as safetensors writes it).
fn assemble(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    h.resize(h.len().next_multiple_of(8), b' ');
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

thread_local! {
    /// One directory per test thread for the files under test, so that a
    /// case costs a write, not a directory.
    static SCRATCH: TempDir = TempDir::new("scratch");
}

/// What became of a file: each stage either fails with a typed error or
/// hands on to the next.
#[derive(Debug)]
enum Outcome<T> {
    /// `load_checkpoint` refused it; the reason, its path checked.
    Refused(String),
    /// It loaded, then `Trainer::restore` or the next epoch refused it.
    Later(LoadedCheckpoint<T>, Error),
    /// It loaded, restored and trained one more epoch.
    Trained(LoadedCheckpoint<T>),
}

/// Loads `bytes` as a checkpoint and, if it loads, checks that `load_into`
/// agrees, resumes a trainer from it and trains one more epoch. Any panic
/// fails the property.
fn run<T: Scalar>(fx: &Fixture<T>, bytes: &[u8]) -> Outcome<T> {
    // A new name each time, removed after: truncating a just-written file
    // to rewrite it makes ext4 flush it (auto_da_alloc), seconds per test.
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let name = format!("c{}.safetensors", COUNT.fetch_add(1, Ordering::Relaxed));
    let path = SCRATCH.with(|dir| dir.write(&name, bytes));
    let outcome = loaded_then_resumed(fx, &path);
    std::fs::remove_file(&path).unwrap();
    outcome
}

fn loaded_then_resumed<T: Scalar>(fx: &Fixture<T>, path: &Path) -> Outcome<T> {
    let loaded = match load_checkpoint::<T>(path) {
        Ok(l) => l,
        Err(e) => {
            let r = reason(e, path);
            // `load_into` reads the same file: it must refuse it too, and
            // leave the model as it was; unless it lost both architecture
            // keys, as a PyTorch file has none, which `load_into` takes.
            let mut model = fx.model.clone();
            let pytorch_like = r.starts_with("no architecture in the metadata");
            let into = load_into(path, &mut model);
            assert!(into.is_err() || pytorch_like, "load_into took it: {r}");
            if into.is_err() {
                assert_eq!(model, fx.model);
            }
            return Outcome::Refused(r);
        }
    };
    let mut model = loaded.model.clone();
    if let Ok(state) = load_into(path, &mut model) {
        // (Compared as printed: a NaN loaded is the same NaN.)
        assert_eq!(format!("{model:?}"), format!("{:?}", loaded.model));
        assert_eq!(format!("{state:?}"), format!("{:?}", loaded.state));
    }
    let config = TrainConfig {
        epochs: 2,
        ..fx.config.clone()
    };
    let mut trainer = Trainer::new(loaded.model.clone(), Box::new(Adam::default()), config);
    let resumed = trainer
        .restore(&loaded.state)
        .and_then(|()| trainer.fit(&fx.data, None, |_| {}).map(|_| ()));
    match resumed {
        Ok(()) => Outcome::Trained(loaded),
        Err(e) => Outcome::Later(loaded, e),
    }
}

/// The reason `load_checkpoint` gave, failing unless it refused the file.
fn refused<T: std::fmt::Debug>(outcome: Outcome<T>, what: &str) -> String {
    match outcome {
        Outcome::Refused(r) => r,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

const TRUNCATED_HEADER: &str = "too short for the 8-byte header length";
const TRUNCATED_DATA: &str =
    "the tensor data declared in the header does not end where the file ends";

fn truncations<T: Scalar>(fx: &Fixture<T>) {
    let n = fx.data_start - 8;
    for len in 0..fx.bytes.len() {
        let r = refused(run(fx, &fx.bytes[..len]), &format!("length {len}"));
        // Each cut is named by what it cut: the length field, the header
        // it announces (both lengths given), or the data.
        let want = if len < 8 {
            format!("the file is {len} bytes long, {TRUNCATED_HEADER}")
        } else if len < fx.data_start {
            format!(
                "the header length is {n} bytes but only {} bytes follow it",
                len - 8
            )
        } else {
            TRUNCATED_DATA.to_string()
        };
        assert!(r.starts_with(&want), "length {len}: {r}");
    }
}

#[test]
fn truncated_checkpoint_is_an_error_not_a_panic_at_every_length() {
    truncations(&fixture::<f32>());
    truncations(&fixture::<f64>());
}

#[test]
fn a_header_length_beyond_the_file_is_refused_before_allocating() {
    let fx = fixture_f32();
    let rest = fx.bytes.len() as u64 - 8;
    for n in [rest + 1, 1 << 32, 1 << 40, 1 << 63, u64::MAX - 7, u64::MAX] {
        let mut b = fx.bytes.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        let r = refused(run(fx, &b), &format!("header length {n}"));
        assert!(
            r.starts_with(&format!(
                "the header length is {n} bytes but only {rest} bytes follow it"
            )),
            "{n}: {r}"
        );
    }
}

/// The header of `fx` with `edit` applied, reassembled with the same data.
fn edited<T>(fx: &Fixture<T>, edit: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let (mut header, start) = header_of(&fx.bytes);
    edit(&mut header);
    assemble(&Value::Object(header).to_string(), &fx.bytes[start..])
}

#[test]
fn huge_declared_tensor_shapes_are_refused_before_allocating() {
    let fx = fixture_f32();
    let shapes: [&[u64]; 5] = [
        &[1 << 40],
        &[1 << 20, 1 << 20],
        &[1 << 32, 1 << 32, 1 << 32],
        &[u64::MAX],
        &[u64::MAX, 2],
    ];
    for (name, _) in &fx.tensors {
        for shape in shapes {
            let b = edited(fx, |h| h[name]["shape"] = serde_json::json!(shape));
            let r = refused(run(fx, &b), &format!("{name} of shape {shape:?}"));
            assert!(r.starts_with("invalid safetensors header"), "{name}: {r}");
        }
        // And widths in the metadata that would allocate 2^40 parameters.
        let b = edited(fx, |h| {
            h["__metadata__"]["widths"] = Value::from("1048576,1048576,2");
        });
        let r = refused(run(fx, &b), "widths 2^20");
        assert!(
            r.contains("tensor layers.0.weight has shape [4, 2] in the file but the widths"),
            "{r}"
        );
    }
}

#[test]
fn a_step_counter_at_its_maximum_stops_training_with_a_typed_error_not_an_overflow() {
    // Adam's bias correction took steps + 1, which overflowed (a panic in
    // debug builds, a division by zero in release ones) on the step after
    // the counter reached u64::MAX.
    let fx = fixture_f32();
    for (steps, refused_at) in [(u64::MAX, 0), (u64::MAX - 1, 1)] {
        let b = edited(fx, |h| {
            h["__metadata__"]["optimizer.steps"] = Value::from(steps.to_string());
        });
        match run(fx, &b) {
            Outcome::Later(
                loaded,
                Error::Step {
                    epoch: 1,
                    step,
                    source: optim::Error::StepCount { got: u64::MAX, .. },
                },
            ) => {
                assert_eq!(loaded.state.optimizer.unwrap().steps, steps);
                assert_eq!(step, refused_at, "from {steps}");
            }
            other => panic!("from {steps}: {other:?}"),
        }
    }
}

#[test]
fn training_settings_no_trainer_runs_with_are_refused_on_read_and_on_write() {
    // They loaded (a NaN clipping bound, a dropout of 2), to be refused
    // only by Trainer::restore as differing from the trainer's.
    let fx = fixture_f32();
    let dir = TempDir::new("settings-range");
    for (key, value, expected) in [
        (
            "training.clip_grad_norm",
            "NaN",
            "a finite number > 0, or none",
        ),
        (
            "training.clip_grad_norm",
            "-1.0",
            "a finite number > 0, or none",
        ),
        (
            "training.dropout",
            "inf",
            "a drop probability in [0, 1), or none",
        ),
        (
            "training.dropout",
            "2.0",
            "a drop probability in [0, 1), or none",
        ),
        ("training.batch_size", "0", ">= 1"),
    ] {
        let b = edited(fx, |h| h["__metadata__"][key] = Value::from(value));
        let r = refused(run(fx, &b), &format!("{key} = {value}"));
        assert_eq!(
            r,
            format!("metadata {key} = {value:?} is out of range: expected {expected}")
        );
    }
    // A trainer's configuration is checked by `fit`, not when set: a
    // checkpoint of one changed since must not write a file that cannot be
    // read back.
    let mut trainer = Trainer::new(
        fx.model.clone(),
        Box::new(Adam::default()),
        fx.config.clone(),
    );
    trainer.config_mut().dropout = Some(f64::NAN);
    let path = dir.path("written.safetensors");
    let r = reason(trainer.save_checkpoint(&path).unwrap_err(), &path);
    assert_eq!(
        r,
        "the training settings cannot be stored: training.dropout is NaN, expected a drop \
         probability in [0, 1), or none"
    );
    assert!(!path.exists());
}

#[test]
fn a_non_finite_optimizer_learning_rate_or_setting_is_refused_on_read_and_on_write() {
    // They loaded, a NaN handed on in the optimizer state, to be refused
    // only by the optimizer's load_state.
    let fx = fixture_f32();
    let dir = TempDir::new("optimizer-finite");
    for v in ["NaN", "inf", "-inf", "1e400"] {
        let b = edited(fx, |h| {
            h["__metadata__"]["optimizer.learning_rate"] = Value::from(v);
        });
        assert_eq!(
            refused(run(fx, &b), v),
            format!("metadata optimizer.learning_rate = {v:?} is not a finite number")
        );
        let settings = format!("beta1=0.9,beta2={v},eps=1e-8,weight_decay=0.0");
        let b = edited(fx, |h| {
            h["__metadata__"]["optimizer.settings"] = Value::from(settings.as_str());
        });
        assert_eq!(
            refused(run(fx, &b), v),
            format!(
                "metadata optimizer.settings = {settings:?}: \"beta2={v}\" is not name=number \
                 (a finite number)"
            )
        );
    }
    let mut state = optim::Optimizer::<f32>::state(&Adam::<f32>::default());
    state.learning_rate = f64::INFINITY;
    let path = dir.path("written.safetensors");
    let e = save_checkpoint(
        &path,
        &nn::checkpoint::Checkpoint::new(&fx.model).optimizer(&state),
    );
    assert_eq!(
        reason(e.unwrap_err(), &path),
        "the optimizer's learning rate inf cannot be stored: expected a finite number"
    );
    assert!(!path.exists());
}

/// `fx`'s header as compact JSON with the entry `key` of the object at
/// `path` (the top level, or `__metadata__`) written a second time, right
/// after the first, with the value `again`.
fn duplicated<T>(fx: &Fixture<T>, in_metadata: bool, key: &str, again: &Value) -> Vec<u8> {
    let (header, start) = header_of(&fx.bytes);
    let object = if in_metadata {
        header["__metadata__"].as_object().unwrap()
    } else {
        &header
    };
    let entry = format!("{}:{}", Value::from(key), object[key]);
    let text = Value::Object(header.clone()).to_string();
    assert_eq!(text.matches(&entry).count(), 1, "{entry}");
    let twice = format!("{entry},{}:{again}", Value::from(key));
    assemble(&text.replacen(&entry, &twice, 1), &fx.bytes[start..])
}

#[test]
fn a_key_written_twice_in_the_header_is_refused_whichever_value_comes_last() {
    // serde_json, and so safetensors, kept the last value silently: a
    // second extra.run loaded as the file's, a second training.dropout was
    // the one compared on restore, a second identical tensor entry passed.
    let fx = fixture_f32();
    let (header, _) = header_of(&fx.bytes);
    let cases = [
        (true, "extra.run", Value::from("other")),
        (true, "extra.run", Value::from("fuzz")),
        (true, "training.dropout", Value::from("0.5")),
        (false, "layers.0.bias", header["layers.0.bias"].clone()),
        (false, "__metadata__", header["__metadata__"].clone()),
    ];
    for (in_metadata, key, again) in cases {
        let b = duplicated(fx, in_metadata, key, &again);
        let r = refused(run(fx, &b), key);
        if key == "__metadata__" {
            // (A field of safetensors' header struct: serde refuses it.)
            assert!(
                r.starts_with("invalid safetensors header: invalid JSON in header: duplicate field `__metadata__`"),
                "{r}"
            );
            continue;
        }
        assert_eq!(
            r,
            format!(
                "the header names {key:?} twice in one object; expected each tensor and \
                 metadata key once (a JSON reader keeps one of them silently)"
            )
        );
    }
}

/// A value of a field that cannot be a valid one.
fn wrong_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,6}".prop_map(Value::from),
        prop::collection::vec(any::<u64>().prop_map(Value::from), 0..4).prop_map(Value::from),
        prop::collection::vec(0u64..64, 0..4).prop_map(|v| serde_json::json!(v)),
        Just(serde_json::json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A byte of the tensor data changed: the file still parses, so the
    /// value loads bitwise as written (parameters and optimizer buffers are
    /// data, NaN included; their validity is checked on use), unless it
    /// breaks the feature scaler, which is refused by name.
    #[test]
    fn a_flipped_byte_in_the_tensor_data_loads_bitwise_or_breaks_only_the_scaler(
        pick in any::<prop::sample::Index>(),
        mask in 1u8..,
        f64_file in any::<bool>(),
    ) {
        if f64_file {
            flipped_data(fixture_f64(), pick, mask);
        } else {
            flipped_data(fixture_f32(), pick, mask);
        }
    }

    /// A byte of the length field or the JSON header changed: a typed
    /// error, or a header that still parses as JSON (a changed digit or
    /// letter of a metadata value, a space turned into other whitespace).
    #[test]
    fn a_flipped_byte_in_the_header_is_a_typed_error_or_still_json(
        pick in any::<prop::sample::Index>(),
        mask in 1u8..,
    ) {
        let fx = fixture_f32();
        let at = pick.index(fx.data_start);
        let mut b = fx.bytes.clone();
        b[at] ^= mask;
        let outcome = run(fx, &b);
        if !matches!(outcome, Outcome::Refused(_)) {
            prop_assert!(at >= 8, "a changed length field loaded: {outcome:?}");
            prop_assert!(
                serde_json::from_slice::<Value>(&b[8..fx.data_start]).is_ok(),
                "a header that is not JSON loaded: {outcome:?}"
            );
        }
    }

    /// Bytes overwritten anywhere: `Ok` or a typed error.
    #[test]
    fn random_overwrites_are_typed_errors_or_load(
        writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let fx = fixture_f32();
        let mut b = fx.bytes.clone();
        for (pick, byte) in writes {
            let at = pick.index(b.len());
            b[at] = byte;
        }
        run(fx, &b);
    }

    /// One byte inserted (random, or a copy of its neighbour) or removed
    /// anywhere: the file's length no longer matches its header, always an
    /// error.
    #[test]
    fn an_inserted_or_deleted_byte_is_always_an_error(
        pick in any::<prop::sample::Index>(),
        byte in prop::option::of(any::<u8>()),
        delete in any::<bool>(),
    ) {
        let fx = fixture_f32();
        let mut b = fx.bytes.clone();
        let at = pick.index(b.len());
        if delete {
            b.remove(at);
        } else {
            b.insert(at, byte.unwrap_or(b[at]));
        }
        let r = refused(run(fx, &b), &format!("at {at}"));
        prop_assert!(!r.is_empty());
    }

    /// A tensor's dtype, shape or offsets replaced by another value, or
    /// the tensor's entry removed: always an error, naming the problem.
    #[test]
    fn a_changed_tensor_entry_is_always_an_error(
        which in any::<prop::sample::Index>(),
        field in prop::sample::select(vec!["dtype", "shape", "data_offsets", "remove"]),
        value in prop_oneof![
            wrong_json(),
            prop::sample::select(vec!["F16", "BF16", "I32", "U8", "F64", "F32", "BOOL", "F8_E4M3"])
                .prop_map(Value::from),
        ],
    ) {
        let fx = fixture_f32();
        let (name, _) = &fx.tensors[which.index(fx.tensors.len())];
        let (header, _) = header_of(&fx.bytes);
        prop_assume!(field == "remove" || header[name][field] != value);
        let b = edited(fx, |h| {
            if field == "remove" {
                h.remove(name);
            } else {
                h[name][field] = value.clone();
            }
        });
        run_refused(fx, &b, &format!("{name}.{field} = {value}"));
    }

    /// A metadata key or a tensor entry written a second time, with its
    /// own value or another: always an error.
    #[test]
    fn a_duplicated_header_key_is_always_an_error(
        which in any::<prop::sample::Index>(),
        in_metadata in any::<bool>(),
        again in prop::option::of(wrong_json()),
    ) {
        let fx = fixture_f32();
        let (header, _) = header_of(&fx.bytes);
        let object = if in_metadata {
            header["__metadata__"].as_object().unwrap()
        } else {
            &header
        };
        let keys: Vec<&String> = object.keys().collect();
        let key = keys[which.index(keys.len())];
        let again = again.unwrap_or_else(|| object[key].clone());
        let b = duplicated(fx, in_metadata, key, &again);
        run_refused(fx, &b, &format!("{key} again as {again}"));
    }

    /// A metadata key's value replaced by an arbitrary short string: a
    /// typed error that names the key, or a file that loads (see
    /// `every_metadata_key_removed_or_given_each_hostile_value`).
    #[test]
    fn a_random_metadata_value_is_named_in_the_error_or_loads(
        which in any::<prop::sample::Index>(),
        value in ".{0,8}",
        f64_file in any::<bool>(),
    ) {
        if f64_file {
            corrupted_metadata(fixture_f64(), |n| which.index(n), Some(value));
        } else {
            corrupted_metadata(fixture_f32(), |n| which.index(n), Some(value));
        }
    }
}

/// Every metadata key removed, or its value replaced by each of a pool of
/// hostile strings (NaN, infinities, negative and overflowing integers,
/// empty, non-ASCII, malformed lists): a typed error that names the key,
/// or a file that loads and resumes (or is refused by `Trainer::restore`
/// or training, with a typed error).
#[test]
fn every_metadata_key_removed_or_given_each_hostile_value_is_named_in_the_error_or_loads() {
    let fx = fixture_f32();
    let (header, _) = header_of(&fx.bytes);
    let n = header["__metadata__"].as_object().unwrap().len();
    for k in 0..n {
        corrupted_metadata(fx, |_| k, None);
        for v in HOSTILE {
            corrupted_metadata(fx, |_| k, Some(v.to_string()));
        }
    }
}

/// Values that are wrong for most metadata keys.
const HOSTILE: [&str; 34] = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "-1",
    "0",
    "-0.0",
    "1",
    "1e400",
    "1e-400",
    "18446744073709551615",
    "18446744073709551614",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0x10",
    "+3",
    "1,2",
    ",",
    "m,m",
    "m,,v",
    "v,m",
    "relu:NaN",
    "relu:inf",
    "relu:2",
    "tanh",
    "none",
    "true",
    "\u{fffd}",
    "é",
    "\0",
    "beta1=NaN,beta2=0.999,eps=1e-8,weight_decay=0.0",
];

fn fixture_f32() -> &'static Fixture<f32> {
    static F: std::sync::OnceLock<Fixture<f32>> = std::sync::OnceLock::new();
    F.get_or_init(fixture)
}

fn fixture_f64() -> &'static Fixture<f64> {
    static F: std::sync::OnceLock<Fixture<f64>> = std::sync::OnceLock::new();
    F.get_or_init(fixture)
}

fn run_refused<T: Scalar>(fx: &Fixture<T>, b: &[u8], what: &str) {
    let r = refused(run(fx, b), what);
    assert!(!r.is_empty(), "{what}");
}

fn flipped_data<T: Scalar>(fx: &Fixture<T>, pick: prop::sample::Index, mask: u8) {
    let at = fx.data_start + pick.index(fx.bytes.len() - fx.data_start);
    let mut b = fx.bytes.clone();
    b[at] ^= mask;
    let (name, range) = fx
        .tensors
        .iter()
        .find(|(_, r)| r.contains(&at))
        .expect("the data is all tensors");
    let loaded = match run(fx, &b) {
        Outcome::Refused(r) => {
            assert!(name.starts_with("scaler."), "{name} byte {at}: {r}");
            assert!(
                r.starts_with("tensors scaler.mean and scaler.std are not a feature scaler"),
                "{r}"
            );
            return;
        }
        Outcome::Later(l, _) | Outcome::Trained(l) => l,
    };
    // The changed value is the one read back, bitwise.
    let size = std::mem::size_of::<T>();
    let k = (at - range.start) / size;
    let stored = &b[range.start + k * size..range.start + (k + 1) * size];
    let got: Vec<u8> = match name.as_str() {
        n if n.starts_with("optimizer.") => {
            let buf = loaded.state.optimizer.as_ref().unwrap();
            le_bytes(buf.buffer(&n["optimizer.".len()..]).unwrap()[k])
        }
        "scaler.mean" => le_bytes(loaded.state.scaler.as_ref().unwrap().mean[k]),
        "scaler.std" => le_bytes(loaded.state.scaler.as_ref().unwrap().std[k]),
        n => {
            let slot = &loaded.model.slots()[n];
            le_bytes(loaded.model.params()[slot.range()][k])
        }
    };
    assert_eq!(got, stored, "{name}[{k}]");
}

fn le_bytes<T: Scalar>(x: T) -> Vec<u8> {
    // (T is f32 or f64.)
    let x = optim::Float::to_f64(x);
    if std::mem::size_of::<T>() == 4 {
        (x as f32).to_le_bytes().to_vec()
    } else {
        x.to_le_bytes().to_vec()
    }
}

fn corrupted_metadata<T: Scalar>(
    fx: &Fixture<T>,
    which: impl FnOnce(usize) -> usize,
    value: Option<String>,
) {
    let (header, _) = header_of(&fx.bytes);
    let meta = header["__metadata__"].as_object().unwrap();
    let keys: Vec<&String> = meta.keys().collect();
    let key = keys[which(keys.len())].clone();
    let b = edited(fx, |h| {
        let m = h["__metadata__"].as_object_mut().unwrap();
        match &value {
            Some(v) => m.insert(key.clone(), Value::from(v.as_str())),
            None => m.remove(&key),
        };
    });
    match run(fx, &b) {
        Outcome::Refused(r) => {
            // The reason names the key, or for a key the widths imply,
            // the tensor that contradicts it.
            let family = key.split('.').next().unwrap();
            assert!(
                r.contains(&key) || r.contains(family) || r.contains("layers."),
                "{key} = {value:?}: {r}"
            );
        }
        // Refused when resuming, as differing from the trainer, or when
        // stepping.
        Outcome::Later(_, e) => assert!(
            matches!(
                e,
                Error::Resume { .. }
                    | Error::ResumeSetting { .. }
                    | Error::Optim(_)
                    | Error::Step { .. }
            ),
            "{key} = {value:?}: {e:?}"
        ),
        Outcome::Trained(l) => {
            if let (Some(v), Some(extra)) = (&value, key.strip_prefix("extra.")) {
                assert_eq!(&l.state.extra[extra], v);
            }
        }
    }
}
