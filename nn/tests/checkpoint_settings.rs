//! An optimizer's settings in a checkpoint file: written for every method,
//! read back bitwise, checked when the state is restored, and absent from
//! files written before they were recorded, which still load.

use nn::checkpoint::{load_checkpoint, save_checkpoint, Checkpoint};
use nn::{Mlp, Scalar};
use optim::{by_name, Optimizer, OptimizerState, METHODS};
use std::collections::HashMap;
use std::path::Path;

mod common;
use common::{reason, write_f32_safetensors, TempDir};

/// A [2, 3, 1] network and `method` after three steps on it.
fn stepped<T: Scalar>(method: &str) -> (Mlp<T>, Box<dyn Optimizer<T>>) {
    let mut mlp = Mlp::<T>::builder(&[2, 3, 1]).seed(5).build().unwrap();
    let mut opt = by_name::<T>(method, 1e-2).unwrap();
    let mut at = vec![T::zero(); mlp.num_params()];
    for _ in 0..3 {
        let w = mlp.params().to_vec();
        let g = if opt.gradient_point(&w, &mut at).unwrap() {
            at.clone()
        } else {
            w
        };
        opt.step(mlp.params_mut(), &g).unwrap();
    }
    (mlp, opt)
}

fn setting_bits<T>(s: &OptimizerState<T>) -> Vec<(String, u64)> {
    s.settings
        .iter()
        .map(|(n, v)| (n.clone(), v.to_bits()))
        .collect()
}

fn every_method_round_trips_in<T: Scalar>(dir: &TempDir) {
    for method in METHODS {
        let path = dir.path(&format!("{method}.safetensors"));
        let (mlp, opt) = stepped::<T>(method);
        let state = opt.state();
        save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
        let back = load_checkpoint::<T>(&path)
            .unwrap()
            .state
            .optimizer
            .unwrap();
        assert_eq!(back, state, "{method}");
        assert_eq!(setting_bits(&back), setting_bits(&state), "{method}");
        // It restores into the method that wrote it, and into no other
        // variant of the same method.
        by_name::<T>(method, 1e-2)
            .unwrap()
            .load_state(&back)
            .unwrap();
        for other in METHODS.iter().filter(|&&m| m != method) {
            let mut o = by_name::<T>(other, 1e-2).unwrap();
            if o.name() == back.optimizer {
                let e = o.load_state(&back).unwrap_err();
                assert!(
                    matches!(e, optim::Error::SettingMismatch { .. }),
                    "{method} into {other}: {e}"
                );
            }
        }
    }
}

#[test]
fn every_methods_settings_round_trip_through_a_file_bitwise_and_refuse_other_variants() {
    let dir = TempDir::new("settings");
    every_method_round_trips_in::<f32>(&dir);
    every_method_round_trips_in::<f64>(&dir);
}

/// The `__metadata__` of the safetensors file at `path`.
fn metadata(path: &Path) -> HashMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    header.metadata().clone().unwrap()
}

#[test]
fn the_settings_are_one_metadata_key_of_name_value_pairs() {
    let dir = TempDir::new("settings-key");
    for (method, want) in [
        ("adam", "beta1=0.9,beta2=0.999,eps=1e-8,weight_decay=0.0"),
        ("heavy_ball_symplectic", "semi_implicit=1.0"),
        ("gradient_descent", ""),
    ] {
        let path = dir.path("m.safetensors");
        let (mlp, opt) = stepped::<f32>(method);
        save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&opt.state())).unwrap();
        assert_eq!(metadata(&path)["optimizer.settings"], want, "{method}");
    }
}

/// A checkpoint of an Adam state as written before settings were recorded:
/// the optimizer keys but `optimizer.settings`.
fn write_old_adam_checkpoint(path: &Path) {
    let (mlp, opt) = stepped::<f32>("adam");
    let state = opt.state();
    let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = mlp
        .slots()
        .iter()
        .map(|(name, slot)| {
            let (values, _) = mlp.param(name).unwrap();
            let shape = if name.ends_with("bias") {
                vec![slot.shape.len()]
            } else {
                vec![slot.shape.rows, slot.shape.cols]
            };
            (name.clone(), shape, le(values))
        })
        .collect();
    for (b, values) in &state.buffers {
        tensors.push((format!("optimizer.{b}"), vec![values.len()], le(values)));
    }
    write_f32_safetensors(
        path,
        &tensors,
        &[
            ("format", "chainrule-checkpoint/1"),
            ("widths", "2,3,1"),
            ("activations", "relu:0.0,identity"),
            ("optimizer", "adam"),
            ("optimizer.steps", "3"),
            ("optimizer.learning_rate", "0.01"),
            ("optimizer.buffers", "m,v"),
        ],
    );
}

#[test]
fn a_file_written_before_settings_were_recorded_loads_and_restores_unchecked() {
    let dir = TempDir::new("settings-old");
    let path = dir.path("old.safetensors");
    write_old_adam_checkpoint(&path);
    let state = load_checkpoint::<f32>(&path)
        .unwrap()
        .state
        .optimizer
        .unwrap();
    assert!(state.settings.is_empty());
    assert_eq!(state.steps, 3);
    // Unchecked, as before: even into an Adam of other betas.
    let mut other = optim::Adam::<f32>::new(1e-2, 0.5, 0.9, 1e-6).unwrap();
    other.load_state(&state).unwrap();
    assert_eq!(other.steps(), 3);
}

#[test]
fn malformed_settings_metadata_is_named_and_unstorable_names_are_refused() {
    let dir = TempDir::new("settings-bad");
    let path = dir.path("m.safetensors");
    let (mlp, opt) = stepped::<f32>("gradient_descent");
    let mut state = opt.state();
    state.settings = vec![("a=b".into(), 1.0)];
    let e = reason(
        save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap_err(),
        &path,
    );
    assert_eq!(
        e,
        "optimizer setting name \"a=b\" cannot be stored: it is empty or holds ',' or '='"
    );
    assert!(!path.exists());

    state.settings = vec![("nu".into(), 1.0)];
    save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state)).unwrap();
    // Corrupt the value in place: same length, so the header stays valid.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"nu=1.0").unwrap();
    bytes[at + 5] = b'x';
    std::fs::write(&path, &bytes).unwrap();
    let e = reason(load_checkpoint::<f32>(&path).unwrap_err(), &path);
    assert_eq!(
        e,
        "metadata optimizer.settings = \"nu=1.x\": \"nu=1.x\" is not name=number (a finite number)"
    );
}
