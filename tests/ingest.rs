//! Ingest end to end: every preset from small files written here, the real AMLSim sample, the
//! rejects contract, dedup and resume, labels, and the inputs that must fail before writing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sightline::fraud::ingest::{
    DetectOptions, FileOutcome, FileRole, IndexStrategy, IngestError, IngestOptions, IngestSummary,
    Mapping, SourceLimits, detect, labels, loads, rejects, run,
};
use sightline::store::{OpenMode, Workspace};

struct Env {
    dir: tempfile::TempDir,
    ws: Workspace,
}

fn env() -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = Workspace::open(&dir.path().join("ws.sqlite"), OpenMode::CreateIfMissing)
        .expect("workspace opens");
    Env { dir, ws }
}

impl Env {
    fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write test file");
        p
    }

    fn load(&mut self, paths: &[PathBuf], preset: &str) -> IngestSummary {
        self.load_with(paths, preset, None, &IngestOptions::default())
            .expect("load succeeds")
    }

    fn load_with(
        &mut self,
        paths: &[PathBuf],
        preset: &str,
        mapping: Option<&Mapping>,
        opts: &IngestOptions,
    ) -> Result<IngestSummary, IngestError> {
        let plan = detect(
            paths,
            preset,
            mapping,
            &DetectOptions {
                no_labels: opts.no_labels,
                limits: opts.limits,
                ..DetectOptions::default()
            },
        )?;
        let s = run(&mut self.ws, &plan, opts, &AtomicBool::new(false), &|_| {})?;
        check_contract(&s);
        Ok(s)
    }

    fn count(&self, sql: &str) -> i64 {
        self.ws
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn text(&self, sql: &str) -> String {
        self.ws
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// account ext id → effective label.
    fn effective_labels(&self) -> Vec<(String, String)> {
        let mut stmt = self
            .ws
            .conn()
            .prepare(
                "SELECT a.ext_id, l.label FROM labels l JOIN accounts a ON a.id = l.account_id
                 WHERE l.id = (SELECT max(id) FROM labels WHERE account_id = l.account_id AND revoked_at IS NULL)
                 ORDER BY a.ext_id",
            )
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("labels")
    }

    fn label_of(&self, ext: &str) -> Option<String> {
        self.effective_labels()
            .into_iter()
            .find(|(a, _)| a == ext)
            .map(|(_, l)| l)
    }
}

fn check_contract(s: &IngestSummary) {
    assert_eq!(s.rows_read, s.loaded + s.rejected + s.duplicates, "{s:#?}");
    for f in &s.files {
        assert_eq!(f.rows_read, f.loaded + f.rejected + f.duplicates, "{f:#?}");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

const NATIVE_ACCOUNTS: &str = "account_id,name,created_at,email,phone,national_id,address
A1,Alice,2023-01-01T00:00:00Z,alice@example.com,+100,NID1,1 Main St
A2,Bob,2023-01-02T00:00:00Z,bob@example.com,+101,NID2,\"2 Side St, Town\"
A3,Carol,2023-01-03T00:00:00Z,alice@example.com,,,
A4,Dan,,,,,
";
const NATIVE_MERCHANTS: &str = "merchant_id,name,mcc\nM1,Corner Shop,5411\n";
const NATIVE_TX: &str = "tx_id,timestamp,src_account,dst_account,merchant_id,amount,currency,channel,status,mcc,promo_code,device_id,ip,card_id
T1,2024-01-01T10:00:00Z,A1,A2,,100.50,EUR,p2p,approved,,,D1,10.0.0.1,
T2,2024-01-01T11:00:00Z,A1,,M1,20.00,EUR,card,declined,5411,PROMO5,D1,10.0.0.1,C1
T3,2024-01-02T09:00:00Z,A3,,M1,5.00,EUR,card,approved,5411,,D1,10.0.0.2,C2
";

#[test]
fn native_preset_loads_every_file_role_and_skips_ground_truth() {
    let mut e = env();
    let files = vec![
        e.write("transactions.csv", NATIVE_TX.as_bytes()),
        e.write("accounts.csv.gz", &gzip(NATIVE_ACCOUNTS.as_bytes())),
        e.write("merchants.csv", NATIVE_MERCHANTS.as_bytes()),
        e.write("labels.csv", b"entity_id,label\nA1,fraud\nA2,legit\n"),
        e.write("rings.csv", b"ring_id,account_id\n1,A1\n"),
    ];
    let s = e.load(&files, "auto");
    let roles: Vec<FileRole> = s.files.iter().map(|f| f.role).collect();
    assert_eq!(
        roles,
        vec![
            FileRole::Accounts,
            FileRole::Merchants,
            FileRole::Transactions,
            FileRole::Labels,
            FileRole::GroundTruth
        ]
    );
    assert_eq!(s.files[4].outcome, FileOutcome::Skipped);
    assert!(s.files.iter().all(|f| f.preset == "native"));
    assert_eq!(
        e.count("SELECT count(*) FROM accounts"),
        4,
        "A4 has no transactions but exists"
    );
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 3);
    assert_eq!(
        e.text("SELECT name FROM entities WHERE kind = 'merchant' AND value = 'M1'"),
        "Corner Shop"
    );
    assert_eq!(
        e.text("SELECT status FROM transactions WHERE ext_id = 'T2'"),
        "declined"
    );
    assert_eq!(
        e.text("SELECT currency FROM transactions WHERE ext_id = 'T2'"),
        "EUR"
    );
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE ext_id = 'T2' AND merchant_id IS NOT NULL AND dst_account IS NULL AND card_id IS NOT NULL"),
        1
    );
    // Alice and Carol share an e-mail: one entity, two identity edges.
    assert_eq!(
        e.count("SELECT count(*) FROM account_entities ae JOIN entities en ON en.id = ae.entity_id WHERE en.kind = 'email' AND en.value = 'alice@example.com'"),
        2
    );
    // Device D1 seen twice on A1's transactions: one edge with uses, first and last seen.
    let (uses, first, last): (i64, i64, i64) =
        e.ws.conn()
            .query_row(
                "SELECT uses, first_seen, last_seen FROM account_entities ae
             JOIN entities en ON en.id = ae.entity_id JOIN accounts a ON a.id = ae.account_id
             WHERE en.kind = 'device' AND en.value = 'D1' AND a.ext_id = 'A1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("device edge");
    assert_eq!((uses, first, last), (2, 1_704_103_200, 1_704_106_800));
    assert_eq!(e.label_of("A1").as_deref(), Some("fraud"));
    assert_eq!(e.label_of("A2").as_deref(), Some("legit"));
    assert_eq!(
        e.count("SELECT count(*) FROM loads WHERE status = 'complete'"),
        4
    );
}

#[test]
fn amlsim_full_output_labels_both_ends_of_sar_transactions() {
    let mut e = env();
    let tx = e.write(
        "transactions.csv",
        b"tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id
1,10,11,TRANSFER,100.0,2017-01-01T00:00:00Z,False,-1
2,11,12,TRANSFER,200.0,2017-01-02T00:00:00Z,True,5
3,12,10,WIRE,300.0,2017-01-03T00:00:00Z,True,5
4,10,11,TRANSFER,50.0,2017-01-04T00:00:00Z,False,-1
",
    );
    let header = "acct_id,dsply_nm,type,acct_stat,acct_rptng_crncy,branch_id,acct_open_dt,acct_close_dt,init_balance,first_name,last_name,street_addr,city,state,country,zip,gender,birth_date,ssn,lon,lat";
    let mut accounts = format!("{header}\n");
    for (id, first, ssn) in [
        (10, "John", "111-22-3333"),
        (11, "Ann", "222-33-4444"),
        (12, "Bo", "111-22-3333"),
        (13, "Cy", "999-00-1111"),
    ] {
        accounts.push_str(&format!(
            "{id},C_{id},I,A,USD,1,0,1000000,1000,{first},Smith,1 A St,Town,CA,US,90000,M,1980-01-01,{ssn},0,0\n"
        ));
    }
    let acc = e.write("accounts.csv", accounts.as_bytes());
    let s = e.load(&[tx, acc], "auto");
    assert!(s.files.iter().all(|f| f.preset == "amlsim"), "{s:#?}");
    assert_eq!(e.count("SELECT count(*) FROM accounts"), 4);
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 4);
    assert_eq!(
        e.text("SELECT name FROM accounts WHERE ext_id = '10'"),
        "John Smith"
    );
    assert_eq!(
        e.text("SELECT channel FROM transactions WHERE ext_id = '3'"),
        "wire"
    );
    assert_eq!(e.count("SELECT count(*) FROM transaction_labels"), 2);
    // Accounts 10 and 12 share an SSN.
    assert_eq!(
        e.count("SELECT count(*) FROM entities WHERE kind = 'national_id'"),
        3
    );
    assert_eq!(
        e.effective_labels(),
        vec![
            ("10".into(), "fraud".into()),
            ("11".into(), "fraud".into()),
            ("12".into(), "fraud".into())
        ]
    );
}

#[test]
fn amlsim_sample_keeps_identical_rows_and_creates_nodes_without_transactions() {
    let mut e = env();
    let tx = e.write(
        "transactions.csv",
        b"sourceNodeId,targetNodeId,value,time\n1,2,10.5,1\n1,2,10.5,1\n2,3,7.25,2\n",
    );
    let nodes = e.write(
        "nodes.csv.gz",
        &gzip(b"nodeid,isFraud,init_balance,fraudStep\n1,1,100.0,3\n2,0,50.0,-1\n3,0,10.0,-1\n4,0,1.0,-1\n"),
    );
    let s = e.load(&[tx.clone(), nodes], "amlsim-sample");
    assert_eq!(
        s.loaded,
        3 + 4,
        "identical rows are two transactions: {s:#?}"
    );
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 3);
    assert_eq!(e.count("SELECT count(*) FROM accounts"), 4);
    assert_eq!(
        e.count("SELECT min(ts) FROM transactions"),
        1_483_228_800 + 86_400
    );
    assert_eq!(e.label_of("1").as_deref(), Some("fraud"));
    assert_eq!(e.label_of("4").as_deref(), Some("legit"));
    // The key of a row without an id is the file hash and the row number.
    let key = e.text("SELECT ext_id FROM transactions ORDER BY id LIMIT 1");
    assert!(key.ends_with(":1") && key.len() == 16 + 2, "{key}");
}

#[test]
fn amlworld_duplicated_account_header_and_currency_names() {
    let mut e = env();
    let tx = e.write(
        "HI-Small_Trans.csv",
        b"Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,Payment Currency,Payment Format,Is Laundering
2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0
2022/09/01 00:20,03208,8000F4580,001,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0
2022/09/01 00:22,001,8000F5340,03208,8000F4580,14.00,Euro,16.00,US Dollar,Credit Card,1
",
    );
    let acc = e.write(
        "HI-Small_accounts.csv",
        b"Bank Name,Bank ID,Account Number,Entity ID,Entity Name
Savings Bank #2,10,8000EBD30,800019B28,Corporation #1
Savings Bank #9,20,900000001,800019B28,Corporation #1
",
    );
    let s = e.load(&[tx, acc], "auto");
    assert!(s.files.iter().all(|f| f.preset == "amlworld"), "{s:#?}");
    let mut accounts: Vec<String> = {
        let mut st =
            e.ws.conn()
                .prepare("SELECT ext_id FROM accounts")
                .expect("q");
        st.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids")
    };
    accounts.sort();
    assert_eq!(
        accounts,
        vec![
            "10:8000EBD30",
            "1:8000F5340",
            "20:900000001",
            "3208:8000F4580"
        ]
    );
    assert_eq!(
        e.count("SELECT count(*) FROM transactions t JOIN accounts s ON s.id = t.src_account JOIN accounts d ON d.id = t.dst_account WHERE s.ext_id = '1:8000F5340' AND d.ext_id = '3208:8000F4580' AND t.amount = 16.0 AND t.currency = 'USD' AND t.channel = 'credit_card'"),
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE ts = 1661991600"),
        2
    );
    assert_eq!(e.label_of("1:8000F5340").as_deref(), Some("fraud"));
    assert_eq!(e.label_of("3208:8000F4580").as_deref(), Some("fraud"));
    assert_eq!(e.label_of("10:8000EBD30").as_deref(), Some("legit"));
    // Two accounts of one owner are linked through the owner's entity.
    assert_eq!(e.count("SELECT count(*) FROM account_entities"), 2);
    assert_eq!(
        e.count("SELECT count(DISTINCT entity_id) FROM account_entities"),
        1
    );
}

#[test]
fn paysim_destinations_starting_with_m_are_merchants() {
    let mut e = env();
    let f = e.write(
        "PS_20174392719_1491204439457_log.csv",
        b"step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud
1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0
1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0
2,CASH_OUT,181.0,C840083671,181.0,0.0,C38997010,21182.0,0.0,1,0
",
    );
    let s = e.load(&[f], "auto");
    assert_eq!(s.files[0].preset, "paysim");
    assert_eq!(e.count("SELECT count(*) FROM accounts"), 5);
    assert_eq!(
        e.count("SELECT count(*) FROM transactions t JOIN entities m ON m.id = t.merchant_id WHERE m.value = 'M1979787155' AND t.dst_account IS NULL AND t.channel = 'payment'"),
        1
    );
    assert_eq!(
        e.count("SELECT max(ts) FROM transactions"),
        1_577_836_800 + 7200
    );
    assert_eq!(e.label_of("C1231006815").as_deref(), Some("legit"));
    assert_eq!(e.label_of("C38997010").as_deref(), Some("fraud"));
    assert_eq!(
        e.count("SELECT count(*) FROM labels WHERE label = 'fraud'"),
        4
    );
}

#[test]
fn ieee_cis_transaction_and_identity_files() {
    let mut e = env();
    let mut tx = String::from(
        "TransactionID,isFraud,TransactionDT,TransactionAmt,ProductCD,card1,card2,card3,card4,card5,card6,addr1,addr2,dist1,dist2,P_emaildomain,R_emaildomain,C1\n",
    );
    for row in [
        "2987000,0,86400,68.5,W,13926,,150.0,discover,142.0,credit,315.0,87.0,19.0,,,,1.0",
        "2987001,0,86401,29.0,W,2755,404.0,150.0,mastercard,102.0,credit,325.0,87.0,,,gmail.com,,1.0",
        "2987002,1,86469,59.0,W,4663,490.0,150.0,visa,166.0,debit,330.0,87.0,287.0,,outlook.com,,1.0",
        "2987003,0,86499,50.0,W,2755,404.0,150.0,mastercard,102.0,credit,325.0,87.0,,,gmail.com,,2.0",
    ] {
        tx.push_str(row);
        tx.push('\n');
    }
    let txf = e.write("train_transaction.csv", tx.as_bytes());
    let idf = e.write(
        "train_identity.csv",
        b"TransactionID,id_01,id_02,DeviceType,DeviceInfo
2987001,0.0,70787.0,mobile,SAMSUNG SM-G892A Build/NRD90M
2987002,-5.0,98945.0,mobile,iOS Device
2999999,-5.0,1.0,desktop,Windows
",
    );
    let s = e.load(&[idf, txf], "ieee-cis");
    assert_eq!(
        s.files[0].role,
        FileRole::Transactions,
        "transactions load before identity"
    );
    assert_eq!(s.files[1].role, FileRole::Identity);
    assert_eq!(
        s.files[1].rejected, 1,
        "identity row of an unknown transaction: {s:#?}"
    );
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 4);
    // Two rows share the user key card1:addr1:email.
    assert_eq!(e.count("SELECT count(*) FROM accounts"), 3);
    assert_eq!(
        e.count("SELECT count(*) FROM accounts WHERE ext_id = '2755:325.0:gmail.com'"),
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM accounts WHERE ext_id = '13926:315.0:'"),
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM transactions t JOIN entities d ON d.id = t.device_id WHERE t.ext_id = '2987001' AND d.value = 'SAMSUNG SM-G892A Build/NRD90M'"),
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM entities WHERE kind = 'card'"),
        3
    );
    assert_eq!(
        e.count("SELECT min(ts) FROM transactions"),
        1_512_086_400 + 86_400
    );
    assert_eq!(
        e.label_of("4663:330.0:outlook.com").as_deref(),
        Some("fraud")
    );
    let rej = rejects::read_rejects(
        s.files[1].rejects_path.as_ref().expect("rejects file"),
        0,
        10,
    )
    .expect("rejects readable");
    assert_eq!(rej[0].line, 4);
    assert!(rej[0].reason.contains("2999999"), "{rej:?}");
}

const AMLSIM_HEADER: &str =
    "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id";

#[test]
fn broken_rows_are_rejected_with_line_reason_and_original_text() {
    let mut e = env();
    let mut body = format!("{AMLSIM_HEADER}\n").into_bytes();
    let rows: Vec<&[u8]> = vec![
        b"1,10,11,TRANSFER,100.0,2017-01-01T00:00:00Z,False,-1\n",
        b"2,10,11,TRANSFER,abc,2017-01-01T00:00:00Z,False,-1\n",
        b"3,10,11,TRANSFER,100.0,not-a-date,False,-1\n",
        b",10,11,TRANSFER,100.0,2017-01-01T00:00:00Z,False,-1\n",
        b"4,10,11,TRANSFER\n",
        b"5,10,\xff\xfe,TRANSFER,1.0,2017-01-01T00:00:00Z,False,-1\n",
        b"6,10,11,TRANSFER,1.0,2017-01-01T00:00:00Z,maybe,-1\n",
        b"1,10,11,TRANSFER,100.0,2017-01-01T00:00:00Z,False,-1\n",
        b"7,10,11,TRANSFER,\"1,000.5\",2017-01-01T00:00:00Z,False,-1\n",
        b"8,,11,TRANSFER,1.0,2017-01-01T00:00:00Z,False,-1\n",
        b"\n",
        b"9,10,11,\"TRANS\nFER\",1.0,2017-01-01T00:00:00Z,False,-1\r\n",
        b"10,10,11,TRANSFER,1.0,2017-01-01T00:00:00Z,False,-1,extra\n",
        b"11,10,11,\"unterminated,1.0,2017-01-01T00:00:00Z,False,-1\n",
    ];
    for r in &rows {
        body.extend_from_slice(r);
    }
    let f = e.write("transactions.csv", &body);
    let s = e.load(&[f], "amlsim");
    assert_eq!(
        (s.rows_read, s.loaded, s.rejected, s.duplicates),
        (13, 2, 10, 1),
        "{s:#?}"
    );
    let path = s.files[0]
        .rejects_path
        .clone()
        .expect("rejects file written");
    assert!(
        path.starts_with(e.dir.path().join("ws.rejects")),
        "{}",
        path.display()
    );
    let raw = std::fs::read_to_string(&path).expect("rejects file");
    assert!(raw.starts_with("file,line,reason,original\n"), "{raw}");
    let rej = rejects::read_rejects(&path, 0, 100).expect("readable");
    assert_eq!(rej.len(), 10);
    let by_line = |line: u64| {
        rej.iter()
            .find(|r| r.line == line)
            .unwrap_or_else(|| panic!("no reject for line {line}: {rej:#?}"))
    };
    assert!(rej.iter().all(|r| r.file == "transactions.csv"));
    assert!(by_line(3).reason.contains("non-numeric amount"));
    assert_eq!(
        by_line(3).original,
        "2,10,11,TRANSFER,abc,2017-01-01T00:00:00Z,False,-1"
    );
    assert!(by_line(4).reason.contains("bad timestamp"));
    assert!(by_line(5).reason.contains("missing transaction id"));
    assert!(by_line(6).reason.contains("wrong column count"));
    assert!(by_line(7).reason.contains("invalid UTF-8"));
    assert!(
        by_line(7).original.contains("\\xFF\\xFE"),
        "invalid bytes kept escaped"
    );
    assert!(by_line(8).reason.contains("bad label"));
    assert!(by_line(10).reason.contains("non-numeric amount"));
    assert!(by_line(11).reason.contains("missing source account"));
    assert!(by_line(15).reason.contains("wrong column count"));
    assert!(by_line(16).reason.contains("unterminated"));
    // The multi-line quoted row (lines 13-14) loaded, channel and all.
    assert_eq!(
        e.text("SELECT channel FROM transactions WHERE ext_id = '9'"),
        "trans\nfer"
    );
    let load = &loads::list(e.ws.conn()).expect("loads")[0];
    assert_eq!((load.rows_read, load.rejected), (13, 10));
    assert_eq!(load.status, "complete");
}

#[test]
fn reloading_a_file_adds_nothing_and_new_files_append() {
    let mut e = env();
    let a = e.write(
        "a.csv",
        format!("{AMLSIM_HEADER}\n1,10,11,TRANSFER,1.0,2017-01-01T00:00:00Z,False,-1\n2,11,12,WIRE,2.0,2017-01-02T00:00:00Z,False,-1\n").as_bytes(),
    );
    e.load(std::slice::from_ref(&a), "auto");
    let again = e.load(std::slice::from_ref(&a), "auto");
    assert_eq!(again.files[0].outcome, FileOutcome::AlreadyLoaded);
    assert_eq!(again.loaded, 0);
    // A different file repeating a known id: that row is a duplicate, the new one loads.
    let b = e.write(
        "b.csv",
        format!("{AMLSIM_HEADER}\n2,11,12,WIRE,2.0,2017-01-02T00:00:00Z,False,-1\n3,12,10,WIRE,3.0,2017-01-03T00:00:00Z,False,-1\n").as_bytes(),
    );
    let s = e.load(&[b], "auto");
    assert_eq!((s.loaded, s.duplicates), (1, 1));
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 3);
    assert_eq!(e.count("SELECT count(*) FROM loads"), 2);
}

#[test]
fn bulk_loads_dedup_numeric_and_text_ids_within_and_across_files() {
    // Numeric ids are the rowid, other keys sit in `ext_key`: both dedup, inside a file and
    // against earlier files, while a bulk load has the secondary indexes dropped.
    let opts = IngestOptions {
        index_strategy: IndexStrategy::Rebuild,
        ..IngestOptions::default()
    };
    let row = |id: &str, n: u64, sar: bool| {
        let sar = if sar { "True" } else { "False" };
        format!(
            "{id},{},{},TRANSFER,{n}.25,2017-01-01T00:00:{:02}Z,{sar},-1\n",
            n % 13,
            n % 7,
            n % 60
        )
    };
    let mut e = env();
    let mut a = format!("{AMLSIM_HEADER}\n");
    for n in 1..=300u64 {
        a.push_str(&row(&n.to_string(), n, n % 100 == 0));
    }
    for n in 1..=100u64 {
        a.push_str(&row(&format!("T{n}"), n, false));
    }
    let a = e.write("a.csv", a.as_bytes());
    let s = e.load_with(&[a], "auto", None, &opts).expect("load a");
    assert_eq!((s.loaded, s.duplicates), (400, 0));

    // Ids 250..=450 (51 known), each new numeric id twice in a row, "T90".."T120" (11 known),
    // and non-canonical numbers, which are text keys distinct from the number.
    let mut b = format!("{AMLSIM_HEADER}\n");
    for n in 250..=450u64 {
        b.push_str(&row(&n.to_string(), n, n == 400));
        if n > 300 {
            b.push_str(&row(&n.to_string(), n, false));
        }
    }
    for n in 90..=120u64 {
        b.push_str(&row(&format!("T{n}"), n, false));
    }
    b.push_str(&row("0007", 7, false));
    b.push_str(&row("0007", 7, false));
    let b = e.write("b.csv", b.as_bytes());
    let s = e.load_with(&[b], "auto", None, &opts).expect("load b");
    assert_eq!(s.rows_read, 201 + 150 + 31 + 2);
    assert_eq!((s.loaded, s.duplicates), (150 + 20 + 1, 51 + 150 + 11 + 1));
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 571);
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE ext_id = '0007'"),
        1
    );
    assert_eq!(e.count("SELECT count(*) FROM transactions WHERE id = 7"), 1);
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE ext_key IS NOT NULL"),
        121
    );
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE id < 0"),
        121
    );
    // The SAR rows 100, 200, 300 and 400 are labelled on the transaction they name.
    let mut st = e
        .ws
        .conn()
        .prepare("SELECT t.ext_id FROM transaction_labels l JOIN transactions t ON t.id = l.transaction_id ORDER BY t.id")
        .expect("q");
    let labelled: Vec<String> = st
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("labels");
    assert_eq!(labelled, ["100", "200", "300", "400"]);
}

#[test]
fn loaded_transactions_are_found_through_indexes_by_id_source_destination_and_time() {
    let mut e = env();
    let f = e.write("transactions.csv", amlsim_file(300, 0).as_bytes());
    e.load(&[f], "auto");
    let conn = e.ws.conn();
    for (sql, index) in [
        (
            "SELECT * FROM transactions WHERE id = 5",
            "INTEGER PRIMARY KEY",
        ),
        (
            "SELECT * FROM transactions WHERE ext_key = 'x'",
            "transactions_by_ext_key",
        ),
        (
            "SELECT * FROM transactions WHERE src_account = 5",
            "transactions_by_src",
        ),
        (
            "SELECT * FROM transactions WHERE dst_account = 5 AND ts > 0",
            "transactions_by_dst",
        ),
        (
            "SELECT * FROM transactions WHERE ts BETWEEN 1 AND 5",
            "transactions_by_ts",
        ),
        (
            "SELECT * FROM transactions WHERE merchant_id = 1",
            "transactions_by_merchant",
        ),
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan")
            .query_map([], |r| r.get(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(plan.iter().any(|p| p.contains(index)), "{sql}: {plan:?}");
    }
}

fn amlsim_file(rows: u64, broken_every: u64) -> String {
    let mut s = format!("{AMLSIM_HEADER}\n");
    for i in 1..=rows {
        if broken_every > 0 && i % broken_every == 0 {
            s.push_str(&format!(
                "{i},{},{},TRANSFER,oops,2017-01-01T00:00:00Z,False,-1\n",
                i % 97,
                i % 89
            ));
            continue;
        }
        let sar = if i % 50 == 0 { "True" } else { "False" };
        s.push_str(&format!(
            "{i},{},{},TRANSFER,{}.5,2017-01-01T00:{:02}:00Z,{sar},-1\n",
            i % 997,
            (i * 7) % 991,
            i % 1000,
            i % 60
        ));
    }
    s
}

type Snapshot = (
    Vec<(String, i64, String, Option<String>, f64)>,
    Vec<String>,
    Vec<(String, String)>,
    i64,
);

fn snapshot(e: &Env) -> Snapshot {
    let conn = e.ws.conn();
    let mut st = conn
        .prepare(
            "SELECT t.ext_id, t.ts, s.ext_id, d.ext_id, t.amount FROM transactions t
             JOIN accounts s ON s.id = t.src_account LEFT JOIN accounts d ON d.id = t.dst_account ORDER BY t.ext_id",
        )
        .expect("q");
    let tx = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("tx");
    let mut st = conn
        .prepare("SELECT ext_id FROM accounts ORDER BY ext_id")
        .expect("q");
    let accounts = st
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("accounts");
    (
        tx,
        accounts,
        e.effective_labels(),
        e.count("SELECT count(*) FROM transaction_labels"),
    )
}

#[test]
fn a_cancelled_then_resumed_load_ends_identical_to_an_uninterrupted_one() {
    let text = amlsim_file(40_000, 1000);
    let opts = IngestOptions {
        batch_rows: 10_000,
        ..IngestOptions::default()
    };
    let mut whole = env();
    let f = whole.write("transactions.csv", text.as_bytes());
    let full = whole.load_with(&[f], "auto", None, &opts).expect("load");
    assert_eq!(full.rejected, 40);

    let mut cut = env();
    let f = cut.write("transactions.csv", text.as_bytes());
    let plan = detect(
        std::slice::from_ref(&f),
        "auto",
        None,
        &DetectOptions::default(),
    )
    .expect("plan");
    let cancel = AtomicBool::new(false);
    let first = run(&mut cut.ws, &plan, &opts, &cancel, &|p| {
        if p.rows_read >= 15_000 {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .expect("cancelled run");
    check_contract(&first);
    assert!(first.cancelled);
    assert_eq!(first.files[0].outcome, FileOutcome::Cancelled);
    let partial = cut.count("SELECT count(*) FROM transactions");
    assert!(partial > 0 && partial < 39_960, "{partial}");
    assert_eq!(cut.text("SELECT status FROM loads"), "cancelled");

    // A kill leaves the load 'running'; the next run resumes it the same way.
    cut.ws
        .conn()
        .execute("UPDATE loads SET status = 'running'", [])
        .expect("simulate kill");
    let resumed = cut.load_with(&[f], "auto", None, &opts).expect("resume");
    assert_eq!(resumed.files[0].outcome, FileOutcome::Resumed);
    assert_eq!(
        (
            resumed.rows_read,
            resumed.loaded,
            resumed.rejected,
            resumed.duplicates
        ),
        (full.rows_read, full.loaded, full.rejected, full.duplicates)
    );
    assert_eq!(snapshot(&cut), snapshot(&whole));
    let rej_a = rejects::read_rejects(
        full.files[0].rejects_path.as_ref().expect("rejects"),
        0,
        1000,
    )
    .expect("read");
    let rej_b = rejects::read_rejects(
        resumed.files[0].rejects_path.as_ref().expect("rejects"),
        0,
        1000,
    )
    .expect("read");
    assert_eq!(rej_a, rej_b, "no reject lost or written twice");
    assert_eq!(cut.count("SELECT count(*) FROM loads"), 1);
    // Bulk-load indexes are back.
    assert_eq!(
        cut.count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transactions' AND sql IS NOT NULL"),
        5
    );
}

#[test]
fn no_labels_drops_every_label_column_and_labels_file() {
    let mut e = env();
    let tx = e.write("transactions.csv", amlsim_file(200, 0).as_bytes());
    let lab = e.write("labels.csv", b"entity_id,label\n1,fraud\n");
    let opts = IngestOptions {
        no_labels: true,
        ..IngestOptions::default()
    };
    let s = e.load_with(&[tx, lab], "auto", None, &opts).expect("load");
    assert_eq!(s.files[1].outcome, FileOutcome::Skipped);
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 200);
    assert_eq!(e.count("SELECT count(*) FROM labels"), 0);
    assert_eq!(e.count("SELECT count(*) FROM transaction_labels"), 0);
    assert_eq!(e.count("SELECT has_labels FROM loads"), 0);
}

#[test]
fn labels_import_and_revoke_are_kept_apart_from_the_data() {
    let mut e = env();
    let tx = e.write("transactions.csv", NATIVE_TX.as_bytes());
    e.load(&[tx], "native");
    assert_eq!(e.count("SELECT count(*) FROM labels"), 0);
    let f = e.write(
        "analyst.csv",
        b"entity_id,label\nA1,fraud\nA2,legit\nA9,fraud\nA3,maybe\n",
    );
    let s = labels::import(&mut e.ws, &f, "analyst").expect("import");
    assert_eq!(
        (s.rows_read, s.loaded, s.rejected, s.duplicates),
        (4, 2, 2, 0)
    );
    let rej =
        rejects::read_rejects(s.rejects_path.as_ref().expect("rejects"), 0, 10).expect("read");
    assert!(rej[0].reason.contains("unknown account"), "{rej:?}");
    let again = labels::import(&mut e.ws, &f, "analyst").expect("import again");
    assert_eq!((again.loaded, again.duplicates), (0, 2));
    let r = labels::revoke(&mut e.ws, &["A1".to_string()]).expect("revoke");
    assert_eq!(r.loaded, 1);
    assert_eq!(e.label_of("A1"), None);
    assert_eq!(e.label_of("A2").as_deref(), Some("legit"));
    assert!(labels::revoke(&mut e.ws, &["nobody".to_string()]).is_err());
    let back = labels::import(&mut e.ws, &f, "analyst").expect("import after revoke");
    assert_eq!(back.loaded, 1);
    assert_eq!(e.label_of("A1").as_deref(), Some("fraud"));
    let rf = e.write("revoke.csv", b"entity_id\nA1\nA2\n");
    let r = labels::revoke_file(&mut e.ws, &rf).expect("revoke file");
    assert_eq!(r.loaded, 2);
    assert!(e.effective_labels().is_empty());
}

#[test]
fn an_unknown_header_without_mapping_fails_before_writing() {
    let e = env();
    let f = e.write("export.csv", b"foo,bar\n1,2\n");
    let err = detect(
        std::slice::from_ref(&f),
        "auto",
        None,
        &DetectOptions::default(),
    )
    .expect_err("unknown");
    assert!(matches!(err, IngestError::UnknownHeader { .. }), "{err}");
    assert!(err.to_string().contains("--mapping"), "{err}");
    // Through the CLI: the workspace is not even created.
    let ws = e.dir.path().join("fresh.sqlite");
    let args = sightline::fraud::ingest::cli::IngestArgs {
        workspace: ws.clone(),
        preset: "auto".into(),
        mapping: None,
        no_labels: false,
        json: true,
        dry_run: false,
        record_cap: 1 << 20,
        gzip_max_ratio: 250,
        gzip_max_bytes: 1 << 30,
        batch_rows: 1000,
        indexes: Default::default(),
        files: vec![f],
    };
    assert!(sightline::fraud::ingest::cli::run_ingest_cli(args).is_err());
    assert!(!ws.exists());
}

#[test]
fn a_mapping_naming_a_missing_column_fails_before_writing() {
    let mut e = env();
    let f = e.write(
        "bank.csv",
        b"Ref;Booked;From;To;Amount\nR1;01.02.2024 10:00;X;Y;1\n",
    );
    let mapping = Mapping::from_toml_str(
        r#"
name = "bank"
[[file]]
role = "transactions"
[file.fields]
tx_id = "Ref"
timestamp = "Booked"
src_account = "Debtor"
amount = "Amount"
"#,
    )
    .expect("mapping parses");
    let err = e
        .load_with(&[f], "auto", Some(&mapping), &IngestOptions::default())
        .expect_err("missing column");
    assert!(
        matches!(&err, IngestError::MappingColumnMissing { column, .. } if column == "Debtor"),
        "{err}"
    );
    assert_eq!(e.count("SELECT count(*) FROM loads"), 0);
}

#[test]
fn a_mapping_reads_bom_crlf_semicolons_decimal_commas_and_local_times() {
    let mut e = env();
    let mut body = vec![0xef, 0xbb, 0xbf];
    body.extend_from_slice(
        b"Ref;Booked;From;To;Amount;Fraud\r\nR1;01.02.2024 10:00;X;Y;\"1.234,50\";0\r\nR2;01.07.2024 10:00;Y;X;2,5;1\r\n",
    );
    let f = e.write("bank.csv", &body);
    let path = e.dir.path().join("bank.toml");
    std::fs::write(
        &path,
        r#"
name = "bank"
[[file]]
role = "transactions"
currency = "EUR"
label_rule = "source"
[file.fields]
tx_id = "Ref"
timestamp = "Booked"
src_account = "From"
dst_account = "To"
amount = "Amount"
label = "Fraud"
[file.timestamp]
format = "%d.%m.%Y %H:%M"
timezone = "Europe/Berlin"
[file.amount]
decimal = ","
thousands = "."
"#,
    )
    .expect("write mapping");
    let mapping = Mapping::load(&path).expect("mapping loads");
    mapping.save(&path).expect("mapping saves");
    assert_eq!(Mapping::load(&path).expect("reloads"), mapping);
    let s = e
        .load_with(&[f], "auto", Some(&mapping), &IngestOptions::default())
        .expect("load");
    assert_eq!((s.loaded, s.rejected), (2, 0), "{s:#?}");
    assert_eq!(
        e.count("SELECT ts FROM transactions WHERE ext_id = 'R1'"),
        1_706_778_000
    ); // 09:00Z
    assert_eq!(
        e.count("SELECT ts FROM transactions WHERE ext_id = 'R2'"),
        1_719_820_800
    ); // 08:00Z
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE ext_id = 'R1' AND amount = 1234.5"),
        1
    );
    assert_eq!(
        e.text("SELECT currency FROM transactions WHERE ext_id = 'R1'"),
        "EUR"
    );
    assert_eq!(e.label_of("Y").as_deref(), Some("fraud"));
    assert_eq!(e.label_of("X").as_deref(), Some("legit"));
}

#[test]
fn json_lines_load_through_the_same_presets() {
    let mut e = env();
    let f = e.write(
        "transactions.jsonl",
        b"{\"sourceNodeId\": 1, \"targetNodeId\": 2, \"value\": 10.5, \"time\": 3}\n\n{\"sourceNodeId\": 2, \"targetNodeId\": 1, \"value\": 1, \"time\": 4}\n[1,2]\n{\"sourceNodeId\": 2, \"value\": 1, \"time\": \"x\"}\n",
    );
    let s = e.load(&[f], "auto");
    assert_eq!(s.files[0].preset, "amlsim-sample");
    assert_eq!((s.rows_read, s.loaded, s.rejected), (4, 2, 2), "{s:#?}");
    assert_eq!(
        e.count("SELECT count(*) FROM transactions WHERE amount = 10.5"),
        1
    );
}

#[test]
fn a_line_just_over_the_record_cap_is_rejected_and_the_rest_loads() {
    let mut e = env();
    let cap = 200;
    let ok = "1,10,11,TRANSFER,1.0,2017-01-01T00:00:00Z,False,-1";
    let long_channel = "X".repeat(cap + 1 - (ok.len() - "TRANSFER".len()));
    let long = format!("2,10,11,{long_channel},1.0,2017-01-01T00:00:00Z,False,-1");
    assert_eq!(long.len(), cap + 1);
    let just_fits = format!(
        "3,10,11,{},1.0,2017-01-01T00:00:00Z,False,-1",
        &long_channel[1..]
    );
    assert_eq!(just_fits.len(), cap);
    let f = e.write(
        "transactions.csv",
        format!("{AMLSIM_HEADER}\n{ok}\n{long}\n{just_fits}\n").as_bytes(),
    );
    let opts = IngestOptions {
        limits: SourceLimits {
            record_cap_bytes: cap,
            ..SourceLimits::default()
        },
        ..IngestOptions::default()
    };
    let s = e.load_with(&[f], "amlsim", None, &opts).expect("load");
    assert_eq!((s.loaded, s.rejected), (2, 1), "{s:#?}");
    let rej = rejects::read_rejects(s.files[0].rejects_path.as_ref().expect("rejects"), 0, 10)
        .expect("read");
    assert_eq!(rej[0].line, 3);
    assert!(rej[0].reason.contains("record cap"), "{rej:?}");
}

#[test]
fn a_gzip_bomb_stops_at_the_decompression_cap() {
    let mut e = env();
    let mut body = b"sourceNodeId,targetNodeId,value,time\n".to_vec();
    body.extend(std::iter::repeat_n(b'0', 48 << 20));
    let bomb = gzip(&body);
    assert!(bomb.len() < 200 << 10, "a real bomb: {} bytes", bomb.len());
    let f = e.write("transactions.csv.gz", &bomb);
    let err = e
        .load_with(&[f], "amlsim-sample", None, &IngestOptions::default())
        .expect_err("capped");
    assert!(
        matches!(err, IngestError::DecompressionLimit { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--gzip-max-ratio"), "{err}");
}

#[test]
fn a_workspace_that_is_not_sqlite_is_refused_and_random_bytes_are_an_unknown_header() {
    let e = env();
    let mut bytes = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..10_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    let f = e.write("noise.csv", &bytes);
    assert!(detect(&[f], "auto", None, &DetectOptions::default()).is_err());
    let missing = e.dir.path().join("nope.csv");
    assert!(matches!(
        detect(&[missing], "auto", None, &DetectOptions::default()),
        Err(IngestError::Unreadable { .. })
    ));
}

/// The real AMLSim sample in `../shared/data` (20,000 accounts, 120,558 transactions of which
/// 1,684 repeat an earlier row exactly: they are distinct transactions, not duplicates, since
/// the key of a row without an id is the file hash and the row number).
#[test]
fn the_real_amlsim_sample_loads_with_all_its_rows_and_accounts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/amlsim-20k-fanin-cycle");
    let files = vec![dir.join("transactions.csv.gz"), dir.join("nodes.csv.gz")];
    assert!(
        files.iter().all(|f| f.exists()),
        "shared data missing at {}",
        dir.display()
    );
    let mut e = env();
    let s = e.load(&files, "auto");
    assert!(
        s.files.iter().all(|f| f.preset == "amlsim-sample"),
        "{s:#?}"
    );
    let tx = s
        .files
        .iter()
        .find(|f| f.role == FileRole::Transactions)
        .expect("tx file");
    assert_eq!(tx.rows_read, 120_558);
    assert_eq!((tx.loaded, tx.rejected, tx.duplicates), (120_558, 0, 0));
    assert_eq!(e.count("SELECT count(*) FROM accounts"), 20_000);
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 120_558);
    // nodes.csv marks 1,804 nodes isFraud = 1 (its metadata.txt says 1,803).
    assert_eq!(
        e.count("SELECT count(*) FROM labels WHERE label = 'fraud'"),
        1_804
    );
    assert_eq!(
        e.count("SELECT count(*) FROM labels WHERE label = 'legit'"),
        18_196
    );
    let again = e.load(&files, "auto");
    assert_eq!(again.loaded, 0);
}

#[test]
fn a_sole_writer_load_skips_the_wal_only_when_nobody_else_is_connected() {
    let rows = |from: u64, to: u64| {
        let mut s = format!("{AMLSIM_HEADER}\n");
        for n in from..to {
            s.push_str(&format!(
                "{n},{},{},TRANSFER,{n}.5,2017-01-02T03:04:{:02}Z,False,-1\n",
                n % 11,
                n % 5,
                n % 60
            ));
        }
        s
    };
    let opts = IngestOptions {
        sole_writer: true,
        ..IngestOptions::default()
    };
    let mut e = env();
    let first = e.write("a.csv", rows(1, 2_001).as_bytes());
    let s = e.load_with(&[first], "auto", None, &opts).expect("load");
    assert!(
        s.rollback_journal,
        "alone on the file, the load skips the WAL"
    );
    assert_eq!(s.loaded, 2_000);
    // The file is handed back to the WAL, whole, with every row and index.
    assert_eq!(e.text("PRAGMA journal_mode"), "wal");
    assert_eq!(e.text("PRAGMA integrity_check"), "ok");
    assert_eq!(e.count("SELECT count(*) FROM transactions"), 2_000);
    assert_eq!(
        e.count("SELECT count(*) FROM sqlite_master WHERE name = 'transactions_by_src'"),
        1
    );

    // A reader already connected (the GUI, another process) keeps the load in the WAL, at once
    // and without error, and sees every committed row.
    let reader = Workspace::connect(e.ws.path()).expect("second connection");
    let second = e.write("b.csv", rows(2_001, 3_001).as_bytes());
    let started = std::time::Instant::now();
    let s = e
        .load_with(&[second], "auto", None, &opts)
        .expect("load beside a reader");
    assert!(
        !s.rollback_journal,
        "another connection is open: the WAL stays"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no busy wait"
    );
    assert_eq!(s.loaded, 1_000);
    let seen: i64 = reader
        .query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))
        .expect("reader query");
    assert_eq!(seen, 3_000);
    let mode: String = reader
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}
