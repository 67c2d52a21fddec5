//! `nn::checkpoint`'s writes that fail and files that do not fit: atomic
//! writes, and a typed error naming what was expected and what came for
//! every malformed or foreign file (the property tests over corrupted
//! files are in `malformed_checkpoints.rs`).

use nn::checkpoint::{
    load_checkpoint, load_into, load_model, save_checkpoint, save_model, Checkpoint, StoredDtype,
    FORMAT,
};
use nn::{Activation, Mlp};
use optim::{Optimizer, OptimizerState};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::HashMap;

mod common;
use common::{reason, trained, TempDir};

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
fn a_pytorch_file_marked_format_pt_loads_into_a_matching_model() {
    // `safetensors.torch.save_model`, Hugging Face's `save_pretrained` and
    // most converters write `{"format": "pt"}`: a PyTorch file all the same.
    let dir = TempDir::new("foreignpt");
    let path = dir.path("m.safetensors");
    write_foreign(&path, &torch_231(), Some(&[("format", "pt")]));
    let mut mlp = Mlp::<f32>::builder(&[2, 3, 1]).seed(6).build().unwrap();
    let state = load_into(&path, &mut mlp).unwrap();
    assert!(mlp.params().iter().all(|&x| x == 0.0));
    assert_eq!(state.optimizer, None);
    // Another framework's marker is still refused.
    write_foreign(&path, &torch_231(), Some(&[("format", "tf")]));
    assert_eq!(
        load_231_err(&path),
        "metadata format is \"tf\"; this version reads \"chainrule-checkpoint/1\" (or PyTorch's \"pt\")"
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
        "tensor layers.2.bias is missing (the model expects shape [1]); \
         the file holds layers.0.bias, layers.0.weight, layers.2.weight"
    );
}

#[test]
fn a_bare_sequentials_state_dict_is_named_with_the_prefix_it_lacks() {
    // `torch.save_file(nn.Sequential(...).state_dict())`: keys `0.weight`.
    let dir = TempDir::new("sequential");
    let path = dir.path("m.safetensors");
    let t: Vec<_> = torch_231()
        .into_iter()
        .map(|(name, d, shape)| (name.strip_prefix("layers.").unwrap(), d, shape))
        .collect();
    write_foreign(&path, &t, None);
    let err = load_231_err(&path);
    assert!(
        err.starts_with(
            "tensor layers.0.weight is missing (the model expects shape [3, 2]); \
             the file holds 0.bias, 0.weight, 2.bias, 2.weight (a bare nn.Sequential's"
        ),
        "{err}"
    );
    assert!(err.contains("f\"layers.{k}\""), "{err}");
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
        (&[("widths", "2,3,1"), ("activations", "elu,identity")], "metadata activations: unknown activation \"elu\""),
        (&[("widths", "2,3,1")], "metadata widths is present but activations is missing"),
        (&[("progress.epoch", "1")], "metadata progress.epoch, progress.step and progress.seed must be present together"),
        (&[("progress.epoch", "-1"), ("progress.step", "0"), ("progress.seed", "0")], "metadata progress.epoch = \"-1\" is not an unsigned integer"),
        (&[("optimizer", "adam"), ("optimizer.buffers", "")], "metadata optimizer.learning_rate is missing (the file has an optimizer)"),
        (&[("training.order", "cyclic")], "metadata training.loss is missing (the file records the training settings: it has training.order)"),
        (&[("format", "chainrule-checkpoint/2")], "metadata format is \"chainrule-checkpoint/2\"; this version reads \"chainrule-checkpoint/1\" (or PyTorch's \"pt\")"),
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
