//! The charts' tests.
use super::axis::*;
use super::context::*;
use super::messages::Message;
use crate::i18n::Localized;
use lab_core::report::{Section, StepRecord};

#[test]
fn axes_round_up_to_readable_numbers() {
    let check = |max: f64, whole: bool, expected: (f64, f64)| {
        assert_eq!(nice_axis(max, whole), expected, "{max} {whole}");
    };
    check(0.0, false, (1.0, 0.2));
    check(1.0, false, (1.0, 0.2));
    check(9.0, false, (10.0, 2.0));
    check(115.0, false, (125.0, 25.0));
    check(12.0, false, (12.5, 2.5));
    check(1234.0, false, (1250.0, 250.0));
    check(11.5, true, (15.0, 5.0));
    check(1.15, true, (2.0, 1.0));
    check(0.0, true, (1.0, 1.0));
}

#[test]
fn tick_labels_keep_the_decimals_their_step_needs() {
    let check = |value: f64, step: f64, expected: &str| {
        assert_eq!(tick_text(value, step), expected, "{value} by {step}");
    };
    check(7.5, 2.5, "7.5");
    check(10.0, 2.5, "10.0");
    check(0.4, 0.2, "0.4");
    check(100.0, 25.0, "100");
    check(0.25, 0.05, "0.25");
}

#[test]
fn time_axes_have_at_most_ten_ticks() {
    let check = |end_ms: u64, expected: u64| assert_eq!(time_step(end_ms), expected, "{end_ms}");
    check(1000, 1);
    check(34_000, 5);
    check(100_000, 10);
    check(420_000, 60);
    check(3_600_000, 600);
}

#[test]
fn steps_get_short_labels_from_their_kubectl_command() {
    let check = |kubectl: &str, expected: Option<&str>| {
        let step = StepRecord {
            index: 1,
            section: Section::Main,
            description: String::new(),
            kubectl: vec![kubectl.to_string()],
            started_ms: Some(0),
            finished_ms: Some(1),
            result: lab_core::report::StepResult::Ok,
        };
        let label = step_label(&step).map(|label| Message::StepLabel(&label).english());
        assert_eq!(label.as_deref(), expected, "{kubectl}");
    };
    check("kubectl apply -f app-v2.yaml", Some("apply app-v2.yaml"));
    check(
        "kubectl scale --replicas=9 deployment/my-app-v1",
        Some("scale my-app-v1 to 9"),
    );
    check(
        "kubectl delete deployment my-app-v1",
        Some("delete my-app-v1"),
    );
    check(
        r#"kubectl patch service my-app -p '{"spec":{"selector":{"app":"my-app","version":"v2.0.0"}}}'"#,
        Some("switch my-app to v2.0.0"),
    );
    check(
        "kubectl rollout status deployment/my-app-v1 --timeout=20s",
        None,
    );
    check("kubectl get pods -l app=my-app -L version", None);
    check("", None);
}

#[test]
fn missing_values_split_a_line() {
    let times = [0.0, 1.0, 2.0, 3.0, 4.0];
    let values = [Some(1.0), None, Some(2.0), Some(3.0), None];
    assert_eq!(
        segments(&times, &values),
        vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]
    );
}
