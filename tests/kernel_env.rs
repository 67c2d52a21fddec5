//! `CHAINRULE_NUM_THREADS` sets the default thread count of the matrix
//! kernel (its own test binary: the variable is read once, on first use).

#[test]
fn environment_variable_sets_the_default_thread_count() {
    std::env::set_var("CHAINRULE_NUM_THREADS", "3");
    assert_eq!(autodiff::num_threads(), 3);
    autodiff::set_num_threads(1);
    assert_eq!(autodiff::num_threads(), 1);
}
