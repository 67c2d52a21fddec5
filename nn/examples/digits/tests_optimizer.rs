//! The optimizer's hyperparameters and the learning-rate schedule on the
//! command line, run in-process: recorded by --save, taken back and
//! checked by --load, and a scheduled run resumed bitwise.

use crate::schedule::{KEY_LR, KEY_SCHEDULE, KEY_WARMUP};
use crate::tests::{digits_cli, load, param_bits, scratch};

#[test]
fn a_resumed_cosine_run_with_warmup_is_bitwise_the_run_never_stopped() {
    let dir = scratch("cosine");
    let (whole, half) = (dir.join("whole.st"), dir.join("half.st"));
    let (whole_s, half_s) = (whole.to_str().unwrap(), half.to_str().unwrap());
    // 45 steps per epoch: the warm-up and the decay both span the stop.
    let run = [
        "--optimizer",
        "adamw",
        "--weight-decay",
        "0.05",
        "--schedule",
        "cosine:80:1e-4",
        "--warmup",
        "50",
    ];
    digits_cli(&[&run[..], &["--epochs", "2", "--save", whole_s]].concat()).unwrap();
    digits_cli(&[&run[..], &["--epochs", "1", "--save", half_s]].concat()).unwrap();
    // Nothing repeated: the schedule and the hyperparameters come from the
    // checkpoint.
    digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
    let (a, b) = (load(&whole), load(&half));
    assert_eq!(param_bits(&whole), param_bits(&half));
    assert_eq!(a.state, b.state);
    assert_eq!(a.state.extra[KEY_SCHEDULE], "cosine:80:0.0001");
    assert_eq!(a.state.extra[KEY_WARMUP], "50");
    assert_eq!(a.state.extra[KEY_LR], "0.002");
    // The schedule acted: the last step's rate is on the cosine, not 2e-3.
    let opt = a.state.optimizer.unwrap();
    assert_eq!(opt.steps, 90);
    let expected = optim::Schedule::cosine(2e-3, 80, 1e-4)
        .unwrap()
        .with_warmup(50)
        .learning_rate(89);
    assert_eq!(opt.learning_rate, expected);
    assert_eq!(opt.setting("weight_decay"), Some(0.05));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn on_load_a_different_schedule_rate_or_hyperparameter_is_refused_naming_both_values() {
    let dir = scratch("refuse-hyper");
    let path = dir.join("m.st");
    let p = path.to_str().unwrap();
    let run = [
        "--optimizer",
        "sgd_momentum",
        "--momentum",
        "0.8",
        "--weight-decay",
        "0.001",
        "--schedule",
        "step:30:0.5",
        "--warmup",
        "10",
        "--lr",
        "0.04",
    ];
    digits_cli(&[&run[..], &["--epochs", "1", "--save", p]].concat()).unwrap();
    let cases = [
        ("--schedule", "step:30:0.25", "step:30:0.5"),
        ("--schedule", "cosine", "step:30:0.5"),
        ("--warmup", "0", "10"),
        ("--lr", "0.05", "0.04"),
        ("--momentum", "0.9", "0.8"),
        ("--weight-decay", "0", "0.001"),
    ];
    for (flag, value, saved) in cases {
        let e = digits_cli(&["--epochs", "2", "--load", p, flag, value]).unwrap_err();
        assert!(
            e.contains(&format!(
                "was trained with {flag} {saved}, this run gives {flag}"
            )),
            "{flag} {value}: {e}"
        );
    }
    // A flag the checkpoint's method does not take: refused, too.
    let e = digits_cli(&["--epochs", "2", "--load", p, "--beta1", "0.9"]).unwrap_err();
    assert!(
        e.starts_with("--beta1 does not apply to --optimizer sgd_momentum"),
        "{e}"
    );
    // Every one repeated with its value: resumes.
    digits_cli(&[&run[..], &["--epochs", "2", "--load", p]].concat()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hyperparameters_given_on_the_command_line_reach_the_optimizer_and_its_checkpoint() {
    let dir = scratch("hyper");
    let path = dir.join("m.st");
    let args = [
        "--optimizer",
        "adam",
        "--beta1",
        "0.8",
        "--beta2",
        "0.99",
        "--eps",
        "1e-6",
        "--epochs",
        "1",
        "--save",
        path.to_str().unwrap(),
    ];
    digits_cli(&args).unwrap();
    let ckpt = load(&path);
    let opt = ckpt.state.optimizer.unwrap();
    assert_eq!(opt.setting("beta1"), Some(0.8));
    assert_eq!(opt.setting("beta2"), Some(0.99));
    assert_eq!(opt.setting("eps"), Some(1e-6));
    // Unscheduled: no peak rate recorded, the state's rate is --lr's.
    assert_eq!(ckpt.state.extra[KEY_SCHEDULE], "constant");
    assert!(!ckpt.state.extra.contains_key(KEY_LR));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unscheduled_checkpoints_rate_is_still_replaced_by_lr_on_load() {
    let dir = scratch("constant-lr");
    let path = dir.join("m.st");
    let p = path.to_str().unwrap();
    digits_cli(&["--optimizer", "sgd", "--epochs", "1", "--save", p]).unwrap();
    digits_cli(&["--epochs", "2", "--load", p, "--lr", "0.01", "--save", p]).unwrap();
    assert_eq!(load(&path).state.optimizer.unwrap().learning_rate, 0.01);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_bias_decay_exempts_the_biases_resumes_bitwise_and_must_agree_with_the_checkpoint() {
    let dir = scratch("no-bias-decay");
    let (whole, half, decayed) = (dir.join("whole.st"), dir.join("half.st"), dir.join("d.st"));
    let (whole_s, half_s, decayed_s) = (
        whole.to_str().unwrap(),
        half.to_str().unwrap(),
        decayed.to_str().unwrap(),
    );
    let run = ["--optimizer", "adamw", "--weight-decay", "0.5"];
    let exempt = [&run[..], &["--no-bias-decay"]].concat();
    digits_cli(&[&exempt[..], &["--epochs", "2", "--save", whole_s]].concat()).unwrap();
    digits_cli(&[&exempt[..], &["--epochs", "1", "--save", half_s]].concat()).unwrap();
    // Resumed without the flag: the checkpoint's parameter groups.
    digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
    assert_eq!(param_bits(&whole), param_bits(&half));
    let ckpt = load(&whole);
    let opt = ckpt.state.optimizer.unwrap();
    let weights = ckpt.model.weights_mask().len() as f64;
    assert!(weights < ckpt.model.num_params() as f64);
    assert_eq!(opt.setting("decay_mask_entries"), Some(weights));
    // The same run with the biases decayed ends elsewhere, in the biases
    // and (through them) the weights.
    digits_cli(&[&run[..], &["--epochs", "2", "--save", decayed_s]].concat()).unwrap();
    assert_ne!(param_bits(&whole), param_bits(&decayed));
    assert_eq!(
        load(&decayed)
            .state
            .optimizer
            .unwrap()
            .setting("decay_mask_entries"),
        None
    );
    // The flag on a checkpoint trained with the biases decayed: refused.
    let e = digits_cli(&["--epochs", "3", "--load", decayed_s, "--no-bias-decay"]).unwrap_err();
    assert!(
        e.contains("was trained with the biases decayed, this run gives --no-bias-decay"),
        "{e}"
    );
    // A method without weight decay: refused, naming those with it.
    let e = digits_cli(&["--optimizer", "heavy_ball", "--no-bias-decay"]).unwrap_err();
    assert!(
        e.starts_with("--no-bias-decay does not apply to --optimizer heavy_ball")
            && e.contains("applies to adam, adamw, sgd"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
