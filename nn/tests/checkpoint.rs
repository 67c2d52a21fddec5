//! Integration tests of `nn::checkpoint`: bitwise round trips, resumed
//! training and the PyTorch-facing layout of the file. Atomic writes and
//! the typed errors of malformed files are in `checkpoint_errors.rs`.

use nn::checkpoint::{
    load_checkpoint, load_into, load_model, save_checkpoint, save_model, Checkpoint, Progress,
    StoredDtype, FORMAT,
};
use nn::{Activation, Mlp};
use optim::{Adam, GradientDescent, Optimizer};
use std::collections::BTreeMap;

mod common;
use common::{gradient, trained, TempDir};

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
        Activation::Silu,
        Activation::Gelu,
        Activation::LEAKY_RELU,
        Activation::LeakyRelu { slope: -0.1 - 0.2 },
    ];
    let mlp = Mlp::<f64>::builder(&[3, 4, 5, 6, 3, 4, 5, 6, 2])
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
