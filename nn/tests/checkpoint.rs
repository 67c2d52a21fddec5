//! Integration tests of `nn::checkpoint`: bitwise round trips, resumed
//! training, the PyTorch-facing layout of the file, atomic writes, and typed
//! errors for every malformed file.

use nn::checkpoint::{
    load_checkpoint, load_into, load_model, save_checkpoint, save_model, Checkpoint, Progress,
    StoredDtype, FORMAT,
};
use nn::{Activation, Mlp};
use optim::{Adam, GradientDescent, Optimizer, OptimizerState};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::{BTreeMap, HashMap};

mod common;
use common::{reason, TempDir};

/// A deterministic gradient depending on the parameters, so that training
/// runs depend on the whole state.
fn gradient<T: optim::Float + autodiff::Float>(w: &[T]) -> Vec<T> {
    w.iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = <T as autodiff::Real>::from_f64(0.3 + 0.01 * i as f64);
            x * c - <T as autodiff::Real>::from_f64(0.05)
        })
        .collect()
}

fn trained<T: optim::Float + autodiff::Float>(widths: &[usize], steps: usize) -> (Mlp<T>, Adam<T>) {
    let mut mlp = Mlp::<T>::builder(widths)
        .hidden(Activation::Tanh)
        .seed(11)
        .build()
        .unwrap();
    let mut adam = Adam::default();
    for _ in 0..steps {
        let g = gradient(mlp.params());
        adam.step(mlp.params_mut(), &g).unwrap();
    }
    (mlp, adam)
}

fn bits_f32(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn bits_f64(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn f32_model_and_adam_state_round_trip_bitwise() {
    let dir = TempDir::new("rt32");
    let path = dir.path("m.safetensors");
    let (mlp, adam) = trained::<f32>(&[3, 5, 4, 2], 3);
    let state = adam.state();
    save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    assert_eq!(bits_f32(loaded.model.params()), bits_f32(mlp.params()));
    assert_eq!(loaded.model.widths(), mlp.widths());
    assert_eq!(loaded.model.activations(), mlp.activations());
    let back = loaded.state.optimizer.unwrap();
    assert_eq!((back.optimizer.as_str(), back.steps), ("adam", 3));
    assert_eq!(back.learning_rate.to_bits(), state.learning_rate.to_bits());
    assert_eq!(back.buffers.len(), 2);
    for ((n1, b1), (n2, b2)) in back.buffers.iter().zip(&state.buffers) {
        assert_eq!(n1, n2);
        assert_eq!(bits_f32(b1), bits_f32(b2));
    }
    assert_eq!(loaded.state.dtype, StoredDtype::F32);
}

#[test]
fn f64_model_and_adam_state_round_trip_bitwise() {
    let dir = TempDir::new("rt64");
    let path = dir.path("m.safetensors");
    let (mlp, adam) = trained::<f64>(&[4, 3, 1], 4);
    let state = adam.state();
    save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
    let loaded = load_checkpoint::<f64>(&path).unwrap();
    assert_eq!(bits_f64(loaded.model.params()), bits_f64(mlp.params()));
    let back = loaded.state.optimizer.unwrap();
    for ((n1, b1), (n2, b2)) in back.buffers.iter().zip(&state.buffers) {
        assert_eq!(n1, n2);
        assert_eq!(bits_f64(b1), bits_f64(b2));
    }
    assert_eq!(back.learning_rate.to_bits(), state.learning_rate.to_bits());
    assert_eq!(loaded.state.dtype, StoredDtype::F64);
}

#[test]
fn resumed_training_is_bitwise_the_uninterrupted_training() {
    let dir = TempDir::new("resume");
    let path = dir.path("m.safetensors");
    let (mut mlp, mut adam) = trained::<f32>(&[3, 8, 2], 5);
    let state = adam.state();
    let progress = Progress {
        epoch: 2,
        step: 5,
        seed: 11,
    };
    save_checkpoint(
        &path,
        &Checkpoint::new(&mlp).optimizer(&state).progress(progress),
    )
    .unwrap();

    // A fresh process: a differently initialised network of the same
    // architecture and a fresh Adam.
    let mut resumed = Mlp::<f32>::builder(&[3, 8, 2])
        .hidden(Activation::Tanh)
        .seed(999)
        .build()
        .unwrap();
    assert_ne!(bits_f32(resumed.params()), bits_f32(mlp.params()));
    let restored = load_into(&path, &mut resumed).unwrap();
    let mut adam2 = Adam::<f32>::default();
    adam2.load_state(&restored.optimizer.unwrap()).unwrap();
    assert_eq!(restored.progress, Some(progress));

    for _ in 0..7 {
        let g = gradient(mlp.params());
        adam.step(mlp.params_mut(), &g).unwrap();
        let g = gradient(resumed.params());
        adam2.step(resumed.params_mut(), &g).unwrap();
    }
    assert_eq!(bits_f32(resumed.params()), bits_f32(mlp.params()));
    assert_eq!(adam2.steps(), 12);
}

#[test]
fn learning_rate_progress_and_extra_metadata_round_trip_exactly() {
    let dir = TempDir::new("meta");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f64>::builder(&[2, 2]).build().unwrap();
    let lr = 0.1 + 0.2; // 0.30000000000000004: not a short decimal
    let mut gd = GradientDescent::new(lr).unwrap();
    gd.step(&mut [0.0_f64; 6], &[1.0; 6]).unwrap();
    let state = Optimizer::<f64>::state(&gd);
    let progress = Progress {
        epoch: u64::MAX,
        step: 0,
        seed: 1 << 63,
    };
    let ckpt = Checkpoint::new(&mlp)
        .optimizer(&state)
        .progress(progress)
        .extra("run", "spirals, lr=0.3")
        .extra("git", "abc123");
    save_checkpoint(&path, &ckpt).unwrap();
    let loaded = load_checkpoint::<f64>(&path).unwrap();
    let back = loaded.state.optimizer.unwrap();
    assert_eq!(back.learning_rate.to_bits(), lr.to_bits());
    assert_eq!(back, state);
    assert!(back.buffers.is_empty(), "gradient descent has no buffers");
    assert_eq!(loaded.state.progress, Some(progress));
    let extra: BTreeMap<String, String> = [("git", "abc123"), ("run", "spirals, lr=0.3")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(loaded.state.extra, extra);
}

#[test]
fn a_model_only_checkpoint_has_no_optimizer_or_progress() {
    let dir = TempDir::new("modelonly");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 3, 1]).seed(4).build().unwrap();
    save_model(&path, &mlp).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    assert_eq!(loaded.model, mlp);
    assert_eq!(loaded.state.optimizer, None);
    assert_eq!(loaded.state.progress, None);
    assert!(loaded.state.extra.is_empty());
}

#[test]
fn adam_state_before_its_first_step_round_trips_with_empty_buffers() {
    let dir = TempDir::new("fresh");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 3, 1]).build().unwrap();
    let state = Adam::<f32>::default().state();
    assert!(state.buffers.iter().all(|(_, b)| b.is_empty()));
    save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
    let back = load_checkpoint::<f32>(&path)
        .unwrap()
        .state
        .optimizer
        .unwrap();
    assert_eq!(back, state);
    Adam::<f32>::default().load_state(&back).unwrap();
}

#[test]
fn load_model_rebuilds_widths_and_every_activation() {
    let dir = TempDir::new("arch");
    let path = dir.path("m.safetensors");
    let acts = [
        Activation::Tanh,
        Activation::Relu { at_zero: 0.5 },
        Activation::Softplus,
    ];
    let mlp = Mlp::<f64>::builder(&[3, 4, 5, 6, 2])
        .hidden_each(&acts)
        .output(Activation::Sigmoid)
        .seed(8)
        .build()
        .unwrap();
    save_model(&path, &mlp).unwrap();
    let back = load_model::<f64>(&path).unwrap();
    assert_eq!(back, mlp);
    let x = [0.1, -0.2, 0.3, 0.0, 1.0, -1.0];
    assert_eq!(back.predict(&x).unwrap(), mlp.predict(&x).unwrap());
}

#[test]
fn an_f64_checkpoint_loads_into_f32_rounded_to_nearest_and_reports_f64() {
    let dir = TempDir::new("conv");
    let path = dir.path("m.safetensors");
    let (mlp, adam) = trained::<f64>(&[2, 3, 2], 2);
    let state = adam.state();
    save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    assert_eq!(loaded.state.dtype, StoredDtype::F64);
    let rounded: Vec<f32> = mlp.params().iter().map(|&x| x as f32).collect();
    assert_eq!(bits_f32(loaded.model.params()), bits_f32(&rounded));
    // Not bitwise: resuming bitwise needs the dtype that was saved.
    assert!(loaded
        .model
        .params()
        .iter()
        .zip(mlp.params())
        .any(|(&a, &b)| f64::from(a) != b));
    let m = loaded.state.optimizer.unwrap();
    let m = m.buffer("m").unwrap();
    assert_eq!(m[0], state.buffer("m").unwrap()[0] as f32);
}

#[test]
fn an_f32_checkpoint_loads_into_f64_exactly() {
    let dir = TempDir::new("widen");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 3, 2]).seed(5).build().unwrap();
    save_model(&path, &mlp).unwrap();
    let mut wide = Mlp::<f64>::builder(&[2, 3, 2]).build().unwrap();
    let state = load_into(&path, &mut wide).unwrap();
    assert_eq!(state.dtype, StoredDtype::F32);
    let widened: Vec<f64> = mlp.params().iter().map(|&x| f64::from(x)).collect();
    assert_eq!(bits_f64(wide.params()), bits_f64(&widened));
}

// ------------------------------------------------- the file, as PyTorch sees it

/// A minimal JSON value and parser, enough for a safetensors header.
#[derive(Debug, PartialEq)]
enum Json {
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(kv) => {
                &kv.iter()
                    .find(|(k, _)| k == key)
                    .unwrap_or_else(|| panic!("no key {key}"))
                    .1
            }
            _ => panic!("not an object"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    fn usizes(&self) -> Vec<usize> {
        match self {
            Json::Arr(a) => a
                .iter()
                .map(|v| match v {
                    Json::Num(n) => *n as usize,
                    _ => panic!("not a number"),
                })
                .collect(),
            _ => panic!("not an array"),
        }
    }
    fn keys(&self) -> Vec<&str> {
        match self {
            Json::Obj(kv) => kv.iter().map(|(k, _)| k.as_str()).collect(),
            _ => panic!("not an object"),
        }
    }
}

fn parse_json(s: &[u8]) -> Json {
    fn ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn string(s: &[u8], i: &mut usize) -> String {
        assert_eq!(s[*i], b'"');
        *i += 1;
        let mut out = Vec::new();
        while s[*i] != b'"' {
            if s[*i] == b'\\' {
                *i += 1;
                out.push(match s[*i] {
                    b'n' => b'\n',
                    c => c,
                });
            } else {
                out.push(s[*i]);
            }
            *i += 1;
        }
        *i += 1;
        String::from_utf8(out).unwrap()
    }
    fn value(s: &[u8], i: &mut usize) -> Json {
        ws(s, i);
        match s[*i] {
            b'{' => {
                *i += 1;
                let mut kv = Vec::new();
                loop {
                    ws(s, i);
                    if s[*i] == b'}' {
                        *i += 1;
                        return Json::Obj(kv);
                    }
                    if s[*i] == b',' {
                        *i += 1;
                        ws(s, i);
                    }
                    let k = string(s, i);
                    ws(s, i);
                    assert_eq!(s[*i], b':');
                    *i += 1;
                    kv.push((k, value(s, i)));
                }
            }
            b'[' => {
                *i += 1;
                let mut a = Vec::new();
                loop {
                    ws(s, i);
                    match s[*i] {
                        b']' => {
                            *i += 1;
                            return Json::Arr(a);
                        }
                        b',' => *i += 1,
                        _ => a.push(value(s, i)),
                    }
                }
            }
            b'"' => Json::Str(string(s, i)),
            _ => {
                let start = *i;
                while *i < s.len()
                    && (s[*i] == b'-' || s[*i] == b'.' || s[*i].is_ascii_alphanumeric())
                {
                    *i += 1;
                }
                Json::Num(std::str::from_utf8(&s[start..*i]).unwrap().parse().unwrap())
            }
        }
    }
    let mut i = 0;
    let v = value(s, &mut i);
    ws(s, &mut i);
    assert_eq!(i, s.len(), "trailing bytes in the header");
    v
}

/// The header of a safetensors file: 8-byte little-endian length, then JSON.
fn header(bytes: &[u8]) -> (Json, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (parse_json(&bytes[8..8 + n]), &bytes[8 + n..])
}

#[test]
fn the_header_holds_exactly_the_pytorch_state_dict_names_dtypes_and_shapes() {
    let dir = TempDir::new("torch");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 16, 3]).seed(2).build().unwrap();
    save_model(&path, &mlp).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (h, data) = header(&bytes);
    let mut keys = h.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            "__metadata__",
            "layers.0.bias",
            "layers.0.weight",
            "layers.2.bias",
            "layers.2.weight"
        ]
    );
    let expect = [
        ("layers.0.weight", vec![16, 2]),
        ("layers.0.bias", vec![16]),
        ("layers.2.weight", vec![3, 16]),
        ("layers.2.bias", vec![3]),
    ];
    let mut covered = 0;
    for (name, shape) in expect {
        let t = h.get(name);
        assert_eq!(t.get("dtype").str(), "F32", "{name}");
        assert_eq!(t.get("shape").usizes(), shape, "{name}");
        let off = t.get("data_offsets").usizes();
        // Row-major little-endian values, exactly the slot's.
        let (values, _) = mlp.param(name).unwrap();
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(&data[off[0]..off[1]], &le[..], "{name}");
        covered += off[1] - off[0];
    }
    assert_eq!(covered, data.len(), "tensor data covers the file");
    let meta = h.get("__metadata__");
    assert_eq!(meta.get("format").str(), FORMAT);
    assert_eq!(meta.get("widths").str(), "2,16,3");
    assert_eq!(meta.get("activations").str(), "relu:0.0,identity");
}

#[test]
fn the_header_of_an_f64_checkpoint_with_adam_lists_f64_tensors_and_1d_buffers() {
    let dir = TempDir::new("torch64");
    let path = dir.path("m.safetensors");
    let (mlp, adam) = trained::<f64>(&[2, 4, 1], 1);
    let state = adam.state();
    let ckpt = Checkpoint::new(&mlp).optimizer(&state).progress(Progress {
        epoch: 3,
        step: 7,
        seed: 11,
    });
    save_checkpoint(&path, &ckpt).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (h, _) = header(&bytes);
    let mut keys = h.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            "__metadata__",
            "layers.0.bias",
            "layers.0.weight",
            "layers.2.bias",
            "layers.2.weight",
            "optimizer.m",
            "optimizer.v"
        ]
    );
    for k in &keys[1..] {
        assert_eq!(h.get(k).get("dtype").str(), "F64", "{k}");
    }
    assert_eq!(h.get("layers.2.weight").get("shape").usizes(), [1, 4]);
    assert_eq!(h.get("layers.2.bias").get("shape").usizes(), [1]);
    assert_eq!(
        h.get("optimizer.m").get("shape").usizes(),
        [mlp.num_params()]
    );
    let meta = h.get("__metadata__");
    assert_eq!(meta.get("optimizer").str(), "adam");
    assert_eq!(meta.get("optimizer.steps").str(), "1");
    assert_eq!(meta.get("optimizer.learning_rate").str(), "0.001");
    assert_eq!(meta.get("optimizer.buffers").str(), "m,v");
    assert_eq!(meta.get("progress.epoch").str(), "3");
    assert_eq!(meta.get("progress.step").str(), "7");
    assert_eq!(meta.get("progress.seed").str(), "11");
}

// ------------------------------------------------------------ atomic writes

#[test]
fn a_failed_write_leaves_the_previous_checkpoint_in_place_and_loadable() {
    let dir = TempDir::new("atomic");
    let path = dir.path("m.safetensors");
    let good = Mlp::<f32>::builder(&[2, 3, 1]).seed(1).build().unwrap();
    save_model(&path, &good).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Block the temporary file: a directory stands where it would be created.
    let tmp = dir.path(&format!("m.safetensors.tmp-{}", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    let other = Mlp::<f32>::builder(&[2, 3, 1]).seed(2).build().unwrap();
    let r = reason(save_model(&path, &other).unwrap_err(), &path);
    assert!(r.starts_with("cannot create the temporary file"), "{r}");
    assert!(r.contains("the previous file is untouched"), "{r}");

    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(load_model::<f32>(&path).unwrap(), good);
    std::fs::remove_dir(&tmp).unwrap();

    // Once unblocked, the save replaces the file and leaves no temporary.
    save_model(&path, &other).unwrap();
    assert_eq!(load_model::<f32>(&path).unwrap(), other);
    assert!(!tmp.exists());
}

#[test]
fn saving_over_a_directory_fails_and_removes_the_temporary_file() {
    let dir = TempDir::new("overdir");
    let path = dir.path("taken");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), b"x").unwrap();
    let mlp = Mlp::<f32>::builder(&[1, 1]).build().unwrap();
    let r = reason(save_model(&path, &mlp).unwrap_err(), &path);
    assert!(r.contains("cannot rename"), "{r}");
    assert_eq!(std::fs::read(path.join("keep")).unwrap(), b"x");
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "only the directory remains: {leftovers:?}"
    );
}

#[test]
fn saving_an_optimizer_buffer_of_the_wrong_length_is_refused() {
    let dir = TempDir::new("badbuf");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 3, 1]).build().unwrap();
    let state = OptimizerState {
        optimizer: "adam".to_string(),
        steps: 1,
        learning_rate: 1e-3,
        settings: Vec::new(),
        buffers: vec![
            ("m".to_string(), vec![0.0; 3]),
            ("v".to_string(), vec![0.0; 13]),
        ],
    };
    let r = reason(
        save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap_err(),
        &path,
    );
    assert_eq!(
        r,
        "optimizer buffer \"m\" has 3 values but the model has 13 parameters"
    );
    assert!(!path.exists());
}

// ------------------------------------------------------- malformed files

/// Writes a safetensors file of F32 tensors (name, shape) filled with
/// zeros, with optional metadata: what another program could produce.
fn write_foreign(
    path: &std::path::Path,
    tensors: &[(&str, Dtype, &[usize])],
    meta: Option<&[(&str, &str)]>,
) {
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, d, s)| vec![0u8; s.iter().product::<usize>() * d.bitsize() / 8])
        .collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&data)
        .map(|((n, d, s), b)| (n.to_string(), TensorView::new(*d, s.to_vec(), b).unwrap()))
        .collect();
    let meta: Option<HashMap<String, String>> = meta.map(|m| {
        m.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    });
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

const F: Dtype = Dtype::F32;

/// The tensors of a [2, 3, 1] network as PyTorch names and shapes them.
fn torch_231() -> Vec<(&'static str, Dtype, &'static [usize])> {
    vec![
        ("layers.0.weight", F, &[3, 2]),
        ("layers.0.bias", F, &[3]),
        ("layers.2.weight", F, &[1, 3]),
        ("layers.2.bias", F, &[1]),
    ]
}

/// Loads `path` into a fresh [2, 3, 1] network; returns the reason and
/// checks the network is unchanged.
fn load_231_err(path: &std::path::Path) -> String {
    let mut mlp = Mlp::<f32>::builder(&[2, 3, 1]).seed(6).build().unwrap();
    let before = mlp.clone();
    let r = reason(load_into(path, &mut mlp).unwrap_err(), path);
    assert_eq!(mlp, before, "a failed load leaves the model unchanged");
    r
}

#[test]
fn a_pytorch_style_file_without_metadata_loads_into_a_matching_model() {
    let dir = TempDir::new("foreign");
    let path = dir.path("m.safetensors");
    write_foreign(&path, &torch_231(), None);
    let mut mlp = Mlp::<f32>::builder(&[2, 3, 1]).seed(6).build().unwrap();
    let state = load_into(&path, &mut mlp).unwrap();
    assert!(mlp.params().iter().all(|&x| x == 0.0));
    assert_eq!(state.optimizer, None);
    assert_eq!(state.dtype, StoredDtype::F32);
    // But it cannot rebuild a network by itself.
    let r = reason(load_model::<f32>(&path).unwrap_err(), &path);
    assert_eq!(
        r,
        "no architecture in the metadata (keys `widths` and `activations`); \
         build a matching network and use load_into"
    );
}

#[test]
fn a_missing_tensor_is_named_with_its_expected_shape() {
    let dir = TempDir::new("missing");
    let path = dir.path("m.safetensors");
    let mut t = torch_231();
    t.remove(3);
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "tensor layers.2.bias is missing (the model expects shape [1])"
    );
}

#[test]
fn a_wrong_shape_names_the_tensor_and_both_shapes() {
    let dir = TempDir::new("shape");
    let path = dir.path("m.safetensors");
    let mut t = torch_231();
    t[0].2 = &[2, 3]; // transposed weight
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "tensor layers.0.weight has shape [2, 3] in the file but the model expects [3, 2]"
    );
}

#[test]
fn a_bias_stored_as_a_row_matrix_is_a_wrong_shape() {
    let dir = TempDir::new("bias2d");
    let path = dir.path("m.safetensors");
    let mut t = torch_231();
    t[1].2 = &[1, 3];
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "tensor layers.0.bias has shape [1, 3] in the file but the model expects [3]"
    );
}

#[test]
fn an_unexpected_extra_tensor_is_an_error() {
    let dir = TempDir::new("extra");
    let path = dir.path("m.safetensors");
    let mut t = torch_231();
    t.push(("layers.4.weight", F, &[1, 1]));
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "unexpected tensor layers.4.weight (shape [1, 1]): the model has no such parameter"
    );
    let mut t = torch_231();
    t.push(("optimizer.m", F, &[13]));
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "unexpected tensor optimizer.m (shape [13]): the metadata records no optimizer"
    );
}

#[test]
fn an_unsupported_or_mixed_dtype_is_an_error() {
    let dir = TempDir::new("dtype");
    let path = dir.path("m.safetensors");
    let mut t = torch_231();
    t[2].1 = Dtype::BF16;
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "tensor layers.2.weight has dtype BF16; checkpoints hold F32 or F64"
    );
    let mut t = torch_231();
    t[2].1 = Dtype::F64;
    write_foreign(&path, &t, None);
    assert_eq!(
        load_231_err(&path),
        "mixed dtypes: tensor layers.0.bias is F32 but tensor layers.2.weight is F64"
    );
}

#[test]
fn an_optimizer_buffer_listed_but_missing_or_of_the_wrong_length_is_an_error() {
    let dir = TempDir::new("optbuf");
    let path = dir.path("m.safetensors");
    let meta: &[(&str, &str)] = &[
        ("optimizer", "adam"),
        ("optimizer.steps", "1"),
        ("optimizer.learning_rate", "0.001"),
        ("optimizer.buffers", "m,v"),
    ];
    let mut t = torch_231();
    t.push(("optimizer.m", F, &[13]));
    write_foreign(&path, &t, Some(meta));
    assert_eq!(
        load_231_err(&path),
        "tensor optimizer.v is missing (optimizer buffer v is listed in the metadata)"
    );
    t.push(("optimizer.v", F, &[12]));
    write_foreign(&path, &t, Some(meta));
    assert_eq!(
        load_231_err(&path),
        "tensor optimizer.v has shape [12] in the file but the model expects [13] (or [0] before the first step)"
    );
}

#[test]
fn malformed_metadata_is_named() {
    let dir = TempDir::new("badmeta");
    let path = dir.path("m.safetensors");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("widths", "2,x,1"), ("activations", "relu,identity")], "metadata widths = \"2,x,1\" is not a comma-separated list of integers"),
        (&[("widths", "2,3,1"), ("activations", "relu")], "metadata activations = \"relu\" lists 1 activations for 2 layers (widths \"2,3,1\")"),
        (&[("widths", "2,3,1"), ("activations", "gelu,identity")], "metadata activations: unknown activation \"gelu\""),
        (&[("widths", "2,3,1")], "metadata widths is present but activations is missing"),
        (&[("progress.epoch", "1")], "metadata progress.epoch, progress.step and progress.seed must be present together"),
        (&[("progress.epoch", "-1"), ("progress.step", "0"), ("progress.seed", "0")], "metadata progress.epoch = \"-1\" is not an unsigned integer"),
        (&[("optimizer", "adam"), ("optimizer.buffers", "")], "metadata optimizer.learning_rate is missing (the file has an optimizer)"),
        (&[("training.order", "cyclic")], "metadata training.loss is missing (the file records the training settings: it has training.order)"),
        (&[("format", "chainrule-checkpoint/2")], "metadata format is \"chainrule-checkpoint/2\"; this version reads \"chainrule-checkpoint/1\""),
    ];
    for (meta, want) in cases {
        write_foreign(&path, &torch_231(), Some(meta));
        assert_eq!(load_231_err(&path), *want, "{meta:?}");
    }
}

#[test]
fn loading_into_a_model_of_another_architecture_names_both() {
    let dir = TempDir::new("archmismatch");
    let path = dir.path("m.safetensors");
    save_model(&path, &Mlp::<f32>::builder(&[2, 4, 1]).build().unwrap()).unwrap();
    assert_eq!(
        load_231_err(&path),
        "the file's network has widths [2, 4, 1], the model [2, 3, 1]"
    );
    save_model(
        &path,
        &Mlp::<f32>::builder(&[2, 3, 1])
            .hidden(Activation::Tanh)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        load_231_err(&path),
        "the file's network has activations [tanh,identity], the model [relu:0.0,identity]"
    );
}

#[test]
fn a_missing_file_is_a_typed_error() {
    let dir = TempDir::new("nofile");
    let path = dir.path("absent.safetensors");
    let r = reason(load_checkpoint::<f32>(&path).unwrap_err(), &path);
    assert!(r.starts_with("cannot be read: "), "{r}");
    let r = reason(load_model::<f64>(&path).unwrap_err(), &path);
    assert!(r.starts_with("cannot be read: "), "{r}");
}

#[test]
fn corrupt_headers_and_truncated_files_are_typed_errors() {
    let dir = TempDir::new("corrupt");
    let good_path = dir.path("good.safetensors");
    let (mlp, adam) = trained::<f32>(&[2, 3, 1], 1);
    save_checkpoint(&good_path, &Checkpoint::new(&mlp).optimizer(&adam.state())).unwrap();
    let good = std::fs::read(&good_path).unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap());

    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
    let mut garbage_json = good.clone();
    garbage_json[8] = b'#';
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"junk");

    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("empty", Vec::new(), "the file is 0 bytes long, too short for the 8-byte header length of a safetensors file".into()),
        ("five bytes", vec![1, 2, 3, 4, 5], "the file is 5 bytes long, too short for the 8-byte header length of a safetensors file".into()),
        (
            "header length beyond the file",
            huge,
            format!(
                "the header length is {} bytes but only {} bytes follow it: truncated file or not a safetensors file",
                good.len(),
                good.len() - 8
            ),
        ),
        (
            "truncated in the header",
            good[..20].to_vec(),
            format!(
                "the header length is {header_len} bytes but only 12 bytes follow it: truncated file or not a safetensors file"
            ),
        ),
        (
            "truncated in the data",
            good[..good.len() - 4].to_vec(),
            "the tensor data declared in the header does not end where the file ends: truncated file or trailing bytes".into(),
        ),
        (
            "trailing bytes",
            trailing,
            "the tensor data declared in the header does not end where the file ends: truncated file or trailing bytes".into(),
        ),
        ("garbage header", garbage_json, "invalid safetensors header: invalid JSON in header".into()),
        ("random bytes", b"\x10\0\0\0\0\0\0\0not json at all!".to_vec(), "invalid safetensors header: invalid JSON in header".into()),
    ];
    for (what, bytes, want) in cases {
        let path = dir.path("bad.safetensors");
        std::fs::write(&path, &bytes).unwrap();
        let r = reason(load_checkpoint::<f32>(&path).unwrap_err(), &path);
        assert!(r.starts_with(&want), "{what}: {r}");
        let r = load_231_err(&path);
        assert!(r.starts_with(&want), "{what}: {r}");
    }
}

#[test]
fn metadata_widths_not_backed_by_the_tensors_are_an_error_before_any_allocation() {
    let dir = TempDir::new("hugewidths");
    let meta = |widths: &str| {
        HashMap::from([
            ("format".to_string(), "chainrule-checkpoint/1".to_string()),
            ("widths".to_string(), widths.to_string()),
            ("activations".to_string(), "identity".to_string()),
        ])
    };
    // Widths whose parameter count overflows, then ones that would need
    // hundreds of GB: no tensor in the file backs them.
    for widths in ["3037000500,3037000500", "200000,200000"] {
        let views: Vec<(String, safetensors::tensor::TensorView)> = Vec::new();
        let bytes = safetensors::serialize(views, Some(meta(widths))).unwrap();
        let path = dir.write("w.safetensors", &bytes);
        let err = load_checkpoint::<f32>(&path).map(|_| ()).unwrap_err();
        assert!(
            err.to_string().contains("layers.0.weight is missing"),
            "{widths}: {err}"
        );
    }
}

#[test]
fn metadata_widths_contradicted_by_the_tensor_shapes_are_an_error_before_any_allocation() {
    let dir = TempDir::new("hugewidths-shape");
    let path = dir.path("w.safetensors");
    // Tensors of the right names but tiny shapes, and widths whose parameter
    // count overflows.
    write_foreign(
        &path,
        &[("layers.0.weight", F, &[1, 1]), ("layers.0.bias", F, &[1])],
        Some(&[
            ("format", FORMAT),
            ("widths", "3037000500,3037000500"),
            ("activations", "identity"),
        ]),
    );
    let err = load_checkpoint::<f32>(&path).map(|_| ()).unwrap_err();
    assert!(
        err.to_string()
            .contains("tensor layers.0.weight has shape [1, 1] in the file but the widths"),
        "{err}"
    );
}
