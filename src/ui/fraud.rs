//! The fraud view: workspace totals and virtual-scrolled tables of accounts and transactions
//! that fetch only the rows on screen.

use egui_extras::{Column, TableBuilder};

use crate::app::{Command, FraudTab, OpenWorkspace, Paged, Table, ViewInput};

use super::home::{group_thousands, stat_ui};
use super::{Model, theme};

const ROW_HEIGHT: f32 = 22.0;

/// Draws the fraud view.
pub fn fraud_ui(
    ui: &mut egui::Ui,
    model: &Model<'_>,
    input: &mut ViewInput,
    cmds: &mut Vec<Command>,
) {
    let Some(ws) = super::need_workspace(ui, model, cmds) else {
        return;
    };
    summary_ui(ui, ws);
    ui.separator();
    ui.horizontal(|ui| {
        ui.selectable_value(&mut input.fraud_tab, FraudTab::Accounts, "Accounts");
        ui.selectable_value(&mut input.fraud_tab, FraudTab::Transactions, "Transactions");
        ui.selectable_value(&mut input.fraud_tab, FraudTab::Rings, "Rings");
        ui.selectable_value(&mut input.fraud_tab, FraudTab::Loads, "Loads");
        ui.separator();
        if ui
            .button("Import…")
            .on_hover_text("Load transaction exports (Ctrl+I), or drop files on the window")
            .clicked()
        {
            cmds.push(Command::OpenImport(Vec::new()));
        }
        if matches!(input.fraud_tab, FraudTab::Loads | FraudTab::Rings) {
            return;
        }
        let (filter, table, paged_total) = match input.fraud_tab {
            FraudTab::Accounts => (
                &mut input.account_filter,
                Table::Accounts,
                ws.accounts.total,
            ),
            FraudTab::Transactions | FraudTab::Loads | FraudTab::Rings => (
                &mut input.transaction_filter,
                Table::Transactions,
                ws.transactions.total,
            ),
        };
        let edit = ui.add(
            egui::TextEdit::singleline(filter)
                .hint_text("Filter by account id or name")
                .desired_width(240.0),
        );
        if edit.changed() {
            cmds.push(Command::SetFilter {
                table,
                filter: filter.clone(),
            });
        }
        match paged_total {
            Some(n) => ui.weak(format!("{} rows", group_thousands(n as i64))),
            None => ui.spinner(),
        };
    });
    match input.fraud_tab {
        FraudTab::Accounts => accounts_table_ui(ui, &ws.accounts, cmds),
        FraudTab::Transactions => transactions_table_ui(ui, &ws.transactions, cmds),
        FraudTab::Loads => loads_ui(ui, ws),
        FraudTab::Rings => rings_ui(ui, ws, model, cmds),
    }
}

fn summary_ui(ui: &mut egui::Ui, ws: &OpenWorkspace) {
    let o = &ws.overview;
    ui.horizontal_wrapped(|ui| {
        stat_ui(ui, "accounts", o.accounts);
        stat_ui(ui, "transactions", o.transactions);
        stat_ui(ui, "declined", o.declined);
        for (kind, n) in &o.entities_by_kind {
            stat_ui(ui, &plural(kind), *n);
        }
        stat_ui(ui, "labelled fraud", o.labelled_fraud);
        stat_ui(ui, "labelled legit", o.labelled_legit);
    });
    if let (Some(first), Some(last)) = (o.first_ts, o.last_ts) {
        ui.weak(format!(
            "Transactions from {} to {}",
            format_ts(first),
            format_ts(last)
        ));
    } else {
        ui.weak("No transactions in this workspace yet.");
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "ip" => "IP addresses".into(),
        "email" => "e-mails".into(),
        "national_id" => "national ids".into(),
        "address" => "addresses".into(),
        other => format!("{other}s"),
    }
}

fn rings_ui(ui: &mut egui::Ui, ws: &OpenWorkspace, model: &Model<'_>, cmds: &mut Vec<Command>) {
    let scoring = model.jobs.iter().any(|j| j.title == "Scoring accounts");
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!scoring, egui::Button::new("Score now"))
            .on_hover_text("Train on the current labels and score every account and candidate ring")
            .clicked()
        {
            cmds.push(Command::ScoreNow);
        }
        match &ws.rings {
            Some(r) => {
                let cv = match (r.run.pr_auc, r.run.roc_auc) {
                    (Some(pr), Some(roc)) => {
                        format!(", cross-validated PR-AUC {pr:.2}, ROC-AUC {roc:.2}")
                    }
                    _ => String::new(),
                };
                ui.label(format!(
                    "Model in use: {} ({}){cv}. Scored {} UTC.",
                    r.run.model,
                    r.run.model_reason,
                    format_ts(r.run.created_at)
                ));
            }
            None => {
                ui.weak("Not scored yet.");
            }
        }
    });
    let Some(rings) = &ws.rings else {
        ui.add_space(20.0);
        ui.label("Score the workspace to find candidate rings: Sightline trains on the labels at hand (or scores without labels when there are none) and explains every score.");
        return;
    };
    ui.weak(format!(
        "{} candidate rings; the top {} by score:",
        rings.run.clusters,
        rings.top.len()
    ));
    let danger = theme::danger(ui.visuals());
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for ring in &rings.top {
                let head = format!(
                    "#{}  score {:.2}  {}  {} accounts",
                    ring.cluster_id,
                    ring.score,
                    ring.typology.replace('_', " "),
                    ring.size
                );
                egui::CollapsingHeader::new(egui::RichText::new(head).color(
                    if ring.score >= 0.5 {
                        danger
                    } else {
                        ui.visuals().text_color()
                    },
                ))
                .id_salt(("ring", ring.cluster_id))
                .show(ui, |ui| {
                    for reason in &ring.reasons {
                        ui.label(reason);
                    }
                    ui.horizontal_wrapped(|ui| {
                        ui.weak("Members:");
                        for m in &ring.members {
                            ui.monospace(m);
                        }
                    });
                });
                if let Some(first) = ring.reasons.first() {
                    ui.add(egui::Label::new(egui::RichText::new(first).weak()).truncate());
                }
            }
        });
}

fn loads_ui(ui: &mut egui::Ui, ws: &OpenWorkspace) {
    if ws.loads.is_empty() {
        ui.weak(
            "Nothing has been imported into this workspace yet. Use Import… or drop files here.",
        );
        return;
    }
    egui::ScrollArea::both().auto_shrink(false).show(ui, |ui| {
        egui::Grid::new("loads_grid").striped(true).show(ui, |ui| {
            for h in [
                "#",
                "File",
                "Preset",
                "Status",
                "Read",
                "Loaded",
                "Rejected",
                "Duplicates",
                "Started (UTC)",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for l in &ws.loads {
                ui.label(l.id.to_string());
                ui.add(egui::Label::new(&l.file_name).truncate())
                    .on_hover_text(&l.file_hash);
                ui.label(&l.preset);
                ui.label(&l.status);
                ui.label(group_thousands(l.rows_read));
                ui.label(group_thousands(l.loaded));
                ui.label(group_thousands(l.rejected));
                ui.label(group_thousands(l.duplicates));
                ui.label(format_ts(l.started_at));
                ui.end_row();
            }
        });
    });
}

/// `972052.03` → `972,052.03`.
pub fn format_amount(amount: f64) -> String {
    if !amount.is_finite() {
        return amount.to_string();
    }
    let cents = (amount.abs() * 100.0).round() as i64;
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", group_thousands(cents / 100), cents % 100)
}

/// Unix seconds → `2026-03-01 14:05` (UTC).
pub fn format_ts(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Asks for the pages of `rows` that are not cached yet.
fn want_rows<R>(
    paged: &Paged<R>,
    rows: std::ops::Range<usize>,
    table: Table,
    cmds: &mut Vec<Command>,
) {
    let first = rows.start / crate::app::PAGE_ROWS;
    let last = rows.end.saturating_sub(1) / crate::app::PAGE_ROWS;
    let missing: Vec<usize> = (first..=last)
        .filter(|p| paged.row(p * crate::app::PAGE_ROWS).is_none())
        .collect();
    if !missing.is_empty() && !rows.is_empty() {
        cmds.push(Command::RequestPages {
            table,
            pages: missing,
        });
    }
}

fn accounts_table_ui(
    ui: &mut egui::Ui,
    paged: &Paged<crate::fraud::browse::AccountRow>,
    cmds: &mut Vec<Command>,
) {
    let total = paged.total.unwrap_or(0);
    if paged.total == Some(0) {
        ui.weak("No accounts match.");
        return;
    }
    let danger = theme::danger(ui.visuals());
    let good = theme::good(ui.visuals());
    let mut visible = 0..0;
    TableBuilder::new(ui)
        .id_salt("accounts_table")
        .striped(true)
        .column(Column::initial(120.0).at_least(80.0))
        .column(Column::initial(200.0).at_least(80.0))
        .column(Column::initial(90.0))
        .column(Column::initial(120.0))
        .column(Column::initial(90.0))
        .column(Column::remainder())
        .header(ROW_HEIGHT, |mut h| {
            for title in ["Account", "Name", "Sent", "Sent total", "Received", "Label"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, total, |mut row| {
                let i = row.index();
                visible.start = if visible.is_empty() {
                    i
                } else {
                    visible.start.min(i)
                };
                visible.end = visible.end.max(i + 1);
                match paged.row(i) {
                    Some(a) => {
                        row.col(|ui| {
                            ui.monospace(&a.ext_id);
                        });
                        row.col(|ui| {
                            ui.add(egui::Label::new(a.name.as_deref().unwrap_or("—")).truncate());
                        });
                        row.col(|ui| {
                            ui.label(group_thousands(a.sent_count));
                        });
                        row.col(|ui| {
                            ui.label(format_amount(a.sent_total));
                        });
                        row.col(|ui| {
                            ui.label(group_thousands(a.received_count));
                        });
                        row.col(|ui| match a.label.as_deref() {
                            Some("fraud") => {
                                ui.colored_label(danger, "fraud");
                            }
                            Some("legit") => {
                                ui.colored_label(good, "legit");
                            }
                            _ => {
                                ui.weak("unknown");
                            }
                        });
                    }
                    None => {
                        row.col(|ui| {
                            ui.weak("…");
                        });
                    }
                }
            });
        });
    want_rows(paged, visible, Table::Accounts, cmds);
}

fn transactions_table_ui(
    ui: &mut egui::Ui,
    paged: &Paged<crate::fraud::browse::TransactionRow>,
    cmds: &mut Vec<Command>,
) {
    let total = paged.total.unwrap_or(0);
    if paged.total == Some(0) {
        ui.weak("No transactions match.");
        return;
    }
    let danger = theme::danger(ui.visuals());
    let mut visible = 0..0;
    TableBuilder::new(ui)
        .id_salt("transactions_table")
        .striped(true)
        .column(Column::initial(140.0))
        .column(Column::initial(110.0))
        .column(Column::initial(110.0))
        .column(Column::initial(110.0))
        .column(Column::initial(110.0))
        .column(Column::initial(80.0))
        .column(Column::remainder())
        .header(ROW_HEIGHT, |mut h| {
            for title in [
                "Time (UTC)",
                "Transaction",
                "From",
                "To / merchant",
                "Amount",
                "Channel",
                "Status",
            ] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, total, |mut row| {
                let i = row.index();
                visible.start = if visible.is_empty() {
                    i
                } else {
                    visible.start.min(i)
                };
                visible.end = visible.end.max(i + 1);
                match paged.row(i) {
                    Some(t) => {
                        row.col(|ui| {
                            ui.label(format_ts(t.ts));
                        });
                        row.col(|ui| {
                            ui.monospace(&t.ext_id);
                        });
                        row.col(|ui| {
                            ui.monospace(&t.src);
                        });
                        row.col(|ui| {
                            ui.monospace(&t.dst);
                        });
                        row.col(|ui| {
                            ui.label(format!("{} {}", format_amount(t.amount), t.currency));
                        });
                        row.col(|ui| {
                            ui.label(t.channel.as_deref().unwrap_or("—"));
                        });
                        row.col(|ui| {
                            if t.status == "declined" {
                                ui.colored_label(danger, "declined");
                            } else {
                                ui.label(&t.status);
                            }
                        });
                    }
                    None => {
                        row.col(|ui| {
                            ui.weak("…");
                        });
                    }
                }
            });
        });
    want_rows(paged, visible, Table::Transactions, cmds);
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_are_grouped_with_two_decimals() {
        assert_eq!(super::format_amount(972_052.031), "972,052.03");
        assert_eq!(super::format_amount(0.5), "0.50");
        assert_eq!(super::format_amount(-1234.5), "-1,234.50");
    }
}
