//! Writes an AMLSim-format `transactions.csv` for the ingest benchmark:
//! `gen_amlsim ROWS ACCOUNTS FIRST_ID OUT.csv` (deterministic; ids FIRST_ID.. so a second file
//! appends new transactions).

use std::io::{BufWriter, Write};

/// SplitMix64: a tiny deterministic generator, enough for benchmark data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        eprintln!("usage: gen_amlsim ROWS ACCOUNTS FIRST_ID OUT.csv");
        std::process::exit(2)
    };
    if args.len() != 5 {
        usage();
    }
    let rows: u64 = args[1].parse().unwrap_or_else(|_| usage());
    let accounts: u64 = args[2].parse().unwrap_or_else(|_| usage());
    let first: u64 = args[3].parse().unwrap_or_else(|_| usage());
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[4])?);
    writeln!(
        out,
        "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id"
    )?;
    let mut rng = Rng(first);
    let types = ["TRANSFER", "WIRE", "CREDIT", "DEPOSIT", "CHECK"];
    // 2017-01-01T00:00:00Z, one transaction every 30 s.
    let start_secs: u64 = 1_483_228_800;
    for id in first..first + rows {
        let orig = rng.below(accounts);
        let bene = rng.below(accounts);
        let sar = rng.below(100) == 0;
        let cents = 100 + rng.below(10_000_000);
        let t = start_secs + id * 30;
        let (days, rem) = (t / 86_400, t % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        write!(
            out,
            "{id},{orig},{bene},{},{}.{:02},{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z,",
            types[(id % 5) as usize],
            cents / 100,
            cents % 100,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if sar {
            writeln!(out, "true,{}", rng.below(1000))?;
        } else {
            writeln!(out, "false,-1")?;
        }
    }
    out.flush()
}

/// Civil date of a day count since 1970-01-01 (inverse of the era-based day count).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}
