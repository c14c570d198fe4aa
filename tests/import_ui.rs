//! The import dialog in egui_kittest: detect a file, see the preview, load it, read the
//! summary and the rejected rows; an unknown header opens the mapping editor.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sightline::app::import::ImportStage;
use sightline::app::{Command, LaunchOptions, SightlineApp, View, WorkspaceState};
use sightline::fraud::ingest::Field;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

fn harness<'a>(
    rt: &tokio::runtime::Runtime,
    workspace: std::path::PathBuf,
) -> Harness<'a, SightlineApp> {
    let launch = LaunchOptions {
        workspace,
        view: Some(View::Fraud),
        fraud_tab: None,
        screenshot: None,
        import: Vec::new(),
        open_asset: None,
        ephemeral: true,
        config_dir: None,
    };
    let ctx = egui::Context::default();
    let app = SightlineApp::new(&ctx, rt.handle().clone(), &launch, None);
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut SightlineApp| app.frame_ui(ui), app)
}

fn step_until(h: &mut Harness<'_, SightlineApp>, what: &str, done: impl Fn(&SightlineApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(4);
}

fn stage(app: &SightlineApp) -> Option<&ImportStage> {
    app.import.as_ref().map(|i| &i.stage)
}

#[test]
fn import_a_file_with_a_broken_row_and_view_its_rejects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = common::small_workspace(dir.path());
    let csv = dir.path().join("transactions.csv");
    std::fs::write(
        &csv,
        "tx_id,timestamp,src_account,dst_account,merchant_id,amount,currency,channel,status,mcc,promo_code,device_id,ip,card_id\n\
         N-1,2026-02-01T10:00:00Z,A-0001,A-0009,,25.00,USD,p2p,approved,,,D-1,10.0.0.1,\n\
         N-2,2026-02-01T11:00:00Z,A-0002,A-0001,,not-a-number,USD,p2p,approved,,,,,\n\
         N-3,2026-02-02T09:30:00Z,A-0009,A-0003,,13.50,USD,p2p,approved,,,,,\n",
    )
    .expect("write csv");
    let rt = runtime();
    let mut h = harness(&rt, ws);
    step_until(&mut h, "workspace", |a| {
        matches!(a.workspace, WorkspaceState::Open(_)) && a.jobs.is_idle()
    });

    h.state_mut().send(Command::OpenImport(vec![csv.clone()]));
    step_until(&mut h, "the plan", |a| {
        matches!(stage(a), Some(ImportStage::Planned(_)))
    });
    h.get_by_label("Import transactions");
    assert!(h.query_all_by_label_contains("not-a-number").count() >= 1); // the bad amount is named…
    h.get_by_label_contains("would be rejected"); // …and flagged

    h.get_by_label("Load 1 file(s)").click();
    step_until(&mut h, "the load", |a| {
        matches!(stage(a), Some(ImportStage::Done(_))) && a.jobs.is_idle()
    });
    let Some(ImportStage::Done(summary)) = stage(h.state()) else {
        panic!("not done")
    };
    assert_eq!(
        (summary.rows_read, summary.loaded, summary.rejected),
        (3, 2, 1)
    );
    h.get_by_label("Import finished.");
    let overview = &h.state().workspace.open().expect("open").overview;
    assert_eq!(
        overview.transactions,
        4 + 2,
        "the workspace view was refreshed"
    );

    h.get_by_label("View rejects").click();
    step_until(&mut h, "the rejects", |a| {
        a.import.as_ref().is_some_and(|i| i.rejects.is_some())
    });
    h.get_by_label("Rejected rows");
    let rejects = h
        .state()
        .import
        .as_ref()
        .and_then(|i| i.rejects.as_ref())
        .expect("rejects");
    assert_eq!(rejects.rows.len(), 1);
    assert_eq!(rejects.rows[0].line, 3, "line of the bad row");
    assert!(
        rejects.rows[0].reason.contains("amount"),
        "{}",
        rejects.rows[0].reason
    );
    h.get_by_label_contains("N-2,2026-02-01T11:00:00Z");

    h.get_by_label("Close").click();
    h.run_steps(4);
    assert!(h.state().import.is_none());
    h.get_by_label("Loads").click();
    h.run_steps(4);
    h.get_by_label_contains("transactions.csv");
}

#[test]
fn unknown_header_opens_the_mapping_editor_and_the_mapping_loads_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = common::small_workspace(dir.path());
    let csv = dir.path().join("bank_export.csv");
    std::fs::write(
        &csv,
        "ref;when;payer;payee;value\nB1;2026-03-01T08:00:00Z;A-0001;A-0002;10.5\n",
    )
    .expect("write");
    let rt = runtime();
    let mut h = harness(&rt, ws);
    step_until(&mut h, "workspace", |a| {
        matches!(a.workspace, WorkspaceState::Open(_)) && a.jobs.is_idle()
    });
    h.state_mut().send(Command::OpenImport(vec![csv.clone()]));
    step_until(&mut h, "the failure", |a| {
        matches!(stage(a), Some(ImportStage::Failed { .. }))
    });
    h.get_by_label("Map the columns of bank_export.csv");
    assert!(
        h.query_by_label("Use this mapping").is_none(),
        "incomplete mapping cannot be used"
    );

    let draft = h.state_mut().input.mapping_draft.as_mut().expect("draft");
    draft.fields = vec![
        Some(Field::TxId),
        Some(Field::Timestamp),
        Some(Field::SrcAccount),
        Some(Field::DstAccount),
        Some(Field::Amount),
    ];
    h.run_steps(4);
    h.get_by_label("Save mapping and use it").click();
    step_until(&mut h, "the plan", |a| {
        matches!(stage(a), Some(ImportStage::Planned(_)))
    });
    let saved = dir.path().join("bank_export.mapping.toml");
    assert!(saved.exists(), "the mapping was saved for next time");
    h.get_by_label("Load 1 file(s)").click();
    step_until(&mut h, "the load", |a| {
        matches!(stage(a), Some(ImportStage::Done(_))) && a.jobs.is_idle()
    });
    let Some(ImportStage::Done(summary)) = stage(h.state()) else {
        panic!("not done")
    };
    assert_eq!(summary.loaded, 1);
}
