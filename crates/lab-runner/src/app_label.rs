//! What the lab's PromQL selects on: the plan's `app` label.

use lab_core::plan::Plan;

/// The `app` label of the Service's selector (the tutorial's `my-app`);
/// through a Gateway, that of the first Service that has one (the backends
/// of one app).
pub(crate) fn app_label(plan: &Plan) -> String {
    let objects = || plan.manifests.iter().flat_map(|m| &m.objects);
    let app =
        |o: &lab_core::object::Object| o.service_selector().and_then(|s| s.get("app").cloned());
    objects()
        .filter(|o| o.name() == plan.entry.name())
        .find_map(app)
        .or_else(|| {
            plan.entry
                .service()
                .is_none()
                .then(|| objects().find_map(app))
                .flatten()
        })
        .unwrap_or_else(|| plan.entry.name().to_owned())
}
