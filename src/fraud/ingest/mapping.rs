//! Mappings: how the columns of an export become Sightline's canonical fields.
//!
//! A mapping is a list of file sections, one per kind of file (transactions, accounts, …). The
//! built-in presets are mappings too (TOML files under `presets/`), so `--preset` and
//! `--mapping MAP.toml` go through one code path. `docs/formats.md` documents the TOML shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::IngestError;

/// What a file holds; decides which fields a section may map and where its rows go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// Account (node) attributes: id, name, identity attributes, an account label.
    Accounts,
    /// Merchants: id, name, category code.
    Merchants,
    /// Transactions: one row per money movement.
    Transactions,
    /// Identity attributes keyed by a transaction id or an account id (IEEE-CIS identity).
    Identity,
    /// Account labels `entity_id,label`, the same format as `sightline labels import`.
    Labels,
    /// Ground truth kept for tests (`rings.csv`, `benign.csv`): recognised and skipped.
    GroundTruth,
}

impl FileRole {
    /// Load order: accounts and merchants before the transactions naming them, identity rows
    /// after the transactions they point at, labels last.
    pub fn load_order(self) -> u8 {
        match self {
            FileRole::Accounts => 0,
            FileRole::Merchants => 1,
            FileRole::Transactions => 2,
            FileRole::Identity => 3,
            FileRole::Labels => 4,
            FileRole::GroundTruth => 5,
        }
    }

    /// The role's name as written in mappings and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Accounts => "accounts",
            FileRole::Merchants => "merchants",
            FileRole::Transactions => "transactions",
            FileRole::Identity => "identity",
            FileRole::Labels => "labels",
            FileRole::GroundTruth => "ground_truth",
        }
    }

    /// The fields a section of this role may map.
    pub fn allowed_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            FileRole::Transactions => &[
                TxId, Timestamp, SrcAccount, DstAccount, Merchant, Amount, Currency, Channel,
                Status, Mcc, PromoCode, Device, Ip, Card, Label,
            ],
            FileRole::Accounts => &[
                AccountId, Name, CreatedAt, Email, Phone, NationalId, Address, Device, Ip, Card,
                Label,
            ],
            FileRole::Merchants => &[MerchantId, Name, Mcc],
            FileRole::Identity => &[
                TxId, AccountId, Email, Phone, NationalId, Address, Device, Ip, Card,
            ],
            FileRole::Labels => &[EntityId, Label],
            FileRole::GroundTruth => &[],
        }
    }

    /// The fields a section of this role must map.
    pub fn required_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            FileRole::Transactions => &[Timestamp, SrcAccount, Amount],
            FileRole::Accounts => &[AccountId],
            FileRole::Merchants => &[MerchantId],
            FileRole::Identity => &[],
            FileRole::Labels => &[EntityId, Label],
            FileRole::GroundTruth => &[],
        }
    }
}

/// A canonical field of Sightline's model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The source's transaction id (the dedup key when present).
    TxId,
    /// When the transaction happened.
    Timestamp,
    /// The paying account.
    SrcAccount,
    /// The receiving account (empty for card payments to a merchant).
    DstAccount,
    /// The receiving merchant.
    Merchant,
    /// The amount, in `currency`.
    Amount,
    /// ISO 4217 code (or a name listed in `currency_aliases`).
    Currency,
    /// Channel or type (`card`, `p2p`, `transfer`, `cash_out`, `wire`…), lower-cased.
    Channel,
    /// `approved` or `declined`.
    Status,
    /// Merchant category code.
    Mcc,
    /// Promotion code used.
    PromoCode,
    /// Device identifier.
    Device,
    /// IP address.
    Ip,
    /// Card identifier.
    Card,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// National id (SSN…).
    NationalId,
    /// Postal address.
    Address,
    /// Account id (accounts and identity files).
    AccountId,
    /// Display name of an account or merchant.
    Name,
    /// When the account was opened.
    CreatedAt,
    /// Merchant id (merchants files).
    MerchantId,
    /// The labelled entity (labels files): an account id.
    EntityId,
    /// The label column: fraud / SAR / laundering flag.
    Label,
}

impl Field {
    /// The field's name as written in mappings.
    pub fn as_str(self) -> &'static str {
        use Field::*;
        match self {
            TxId => "tx_id",
            Timestamp => "timestamp",
            SrcAccount => "src_account",
            DstAccount => "dst_account",
            Merchant => "merchant",
            Amount => "amount",
            Currency => "currency",
            Channel => "channel",
            Status => "status",
            Mcc => "mcc",
            PromoCode => "promo_code",
            Device => "device",
            Ip => "ip",
            Card => "card",
            Email => "email",
            Phone => "phone",
            NationalId => "national_id",
            Address => "address",
            AccountId => "account_id",
            Name => "name",
            CreatedAt => "created_at",
            MerchantId => "merchant_id",
            EntityId => "entity_id",
            Label => "label",
        }
    }

    /// The entity kind an identity field creates, if it is one.
    pub fn entity_kind(self) -> Option<EntityKind> {
        match self {
            Field::Device => Some(EntityKind::Device),
            Field::Ip => Some(EntityKind::Ip),
            Field::Card => Some(EntityKind::Card),
            Field::Email => Some(EntityKind::Email),
            Field::Phone => Some(EntityKind::Phone),
            Field::NationalId => Some(EntityKind::NationalId),
            Field::Address => Some(EntityKind::Address),
            _ => None,
        }
    }

    /// How the parts of a composite source are joined when the mapping names no separator.
    pub fn default_separator(self) -> &'static str {
        match self {
            Field::Name => " ",
            Field::Address => ", ",
            _ => ":",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of entity the workspace knows (the `entities.kind` check constraint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Device,
    Card,
    Ip,
    Email,
    Phone,
    Merchant,
    NationalId,
    Address,
}

impl EntityKind {
    /// The value stored in `entities.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Device => "device",
            EntityKind::Card => "card",
            EntityKind::Ip => "ip",
            EntityKind::Email => "email",
            EntityKind::Phone => "phone",
            EntityKind::Merchant => "merchant",
            EntityKind::NationalId => "national_id",
            EntityKind::Address => "address",
        }
    }

    /// Parses a stored kind.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "device" => EntityKind::Device,
            "card" => EntityKind::Card,
            "ip" => EntityKind::Ip,
            "email" => EntityKind::Email,
            "phone" => EntityKind::Phone,
            "merchant" => EntityKind::Merchant,
            "national_id" => EntityKind::NationalId,
            "address" => EntityKind::Address,
            _ => return None,
        })
    }
}

/// Where a field's value comes from: one column, or several joined into one key.
///
/// In TOML: `src_account = "orig_acct"`, `src_account = ["From Bank", "Account"]`, or
/// `name = { columns = ["first_name", "last_name"], sep = " " }`. A header that repeats a name
/// is addressed as `"Account"` (first) and `"Account#2"` (second).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Source {
    /// One column.
    Column(String),
    /// Several columns joined with the field's default separator.
    Columns(Vec<String>),
    /// Several columns with explicit options.
    Composite {
        /// The columns, in order.
        columns: Vec<String>,
        /// Joins the parts; defaults to `:` for keys, a space for names, `, ` for addresses.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sep: Option<String>,
        /// Drop leading zeros of all-digit parts (`010` and `10` name the same bank).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        strip_leading_zeros: bool,
    },
}

impl Source {
    /// The columns this source reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Source::Column(c) => vec![c.as_str()],
            Source::Columns(cs) | Source::Composite { columns: cs, .. } => {
                cs.iter().map(String::as_str).collect()
            }
        }
    }
}

/// How a time column is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimestampSpec {
    /// `iso8601`, `epoch_secs`, `epoch_millis`, `steps`, `auto`, or a strftime format string
    /// such as `%d/%m/%Y %H:%M`.
    pub format: String,
    /// Time zone of times written without an offset: `UTC`, `+02:00`, or an IANA name.
    pub timezone: String,
    /// Seconds per step (`steps` format): 3600 for PaySim's hours, 86400 for days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_secs: Option<i64>,
    /// The instant of step 0 (`steps` format), ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Default for TimestampSpec {
    fn default() -> Self {
        Self {
            format: "iso8601".into(),
            timezone: "UTC".into(),
            step_secs: None,
            origin: None,
        }
    }
}

/// How an amount column is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmountSpec {
    /// The decimal separator, `.` or `,`.
    pub decimal: char,
    /// A thousands separator to ignore (`,`, `.`, `'`, ` `), if the export uses one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thousands: Option<char>,
}

impl Default for AmountSpec {
    fn default() -> Self {
        Self {
            decimal: '.',
            thousands: None,
        }
    }
}

/// Which accounts a labelled transaction labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelRule {
    /// Both the paying and the receiving account.
    #[default]
    Both,
    /// The paying account only.
    Source,
    /// The receiving account only.
    Destination,
}

/// How one kind of file maps onto the canonical model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMapping {
    /// What the file holds.
    pub role: FileRole,
    /// File names this section applies to regardless of header (ground truth files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_names: Vec<String>,
    /// Canonical field → source column(s).
    #[serde(default)]
    pub fields: BTreeMap<Field, Source>,
    /// Columns that may be missing from the header (their fields are then empty). Label
    /// columns are always optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    /// Other columns that reveal the answer (`alert_id`, `fraudStep`…): never loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_columns: Vec<String>,
    /// Extra identity columns of the account: column → entity kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity: BTreeMap<String, EntityKind>,
    /// How the time column is written.
    #[serde(default)]
    pub timestamp: TimestampSpec,
    /// How the amount column is written.
    #[serde(default)]
    pub amount: AmountSpec,
    /// Field delimiter; sniffed from the header when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Currency of amounts when the file has no currency column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Currency names used by the export → ISO codes (`"US Dollar" = "USD"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub currency_aliases: BTreeMap<String, String>,
    /// Prefix added to transaction ids, to keep two sources' ids apart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_prefix: String,
    /// Which accounts a labelled transaction labels.
    #[serde(default)]
    pub label_rule: LabelRule,
    /// Destination values starting with this prefix are merchants, not accounts (PaySim `M…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_prefix: Option<String>,
}

impl FileMapping {
    /// Every column the section reads (fields, label columns, identity columns), with the
    /// field each serves.
    pub fn referenced_columns(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (field, source) in &self.fields {
            for c in source.columns() {
                out.push((c.to_string(), field.as_str().to_string()));
            }
        }
        for c in &self.label_columns {
            out.push((c.clone(), "label column".into()));
        }
        for (c, kind) in &self.identity {
            out.push((c.clone(), format!("identity ({})", kind.as_str())));
        }
        out
    }

    /// Whether a missing column is tolerated (label columns are, except in a labels file).
    pub fn is_optional(&self, column: &str) -> bool {
        self.optional.iter().any(|c| c == column)
            || self.label_columns.iter().any(|c| c == column)
            || (self.role != FileRole::Labels
                && self
                    .fields
                    .get(&Field::Label)
                    .is_some_and(|s| s.columns().contains(&column)))
    }

    /// Checks the section against its role's rules.
    pub fn validate(&self, mapping: &str) -> Result<(), IngestError> {
        let bad = |problem: String| IngestError::BadMapping {
            mapping: mapping.to_string(),
            problem,
        };
        let role = self.role;
        if role == FileRole::GroundTruth {
            if self.file_names.is_empty() {
                return Err(bad("a ground_truth section needs file_names".into()));
            }
            return Ok(());
        }
        for field in self.fields.keys() {
            if !role.allowed_fields().contains(field) {
                return Err(bad(format!(
                    "field {field} is not part of a {} file (allowed: {})",
                    role.as_str(),
                    role.allowed_fields()
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for field in role.required_fields() {
            if !self.fields.contains_key(field) {
                return Err(bad(format!("a {} section must map {field}", role.as_str())));
            }
        }
        if role == FileRole::Identity
            && !self.fields.contains_key(&Field::TxId)
            && !self.fields.contains_key(&Field::AccountId)
        {
            return Err(bad(
                "an identity section must map tx_id or account_id to say whose attributes a row holds".into(),
            ));
        }
        for (field, source) in &self.fields {
            if source.columns().is_empty() {
                return Err(bad(format!("field {field} names no column")));
            }
        }
        if self.amount.decimal != '.' && self.amount.decimal != ',' {
            return Err(bad(format!(
                "amount.decimal must be '.' or ',', not {:?}",
                self.amount.decimal
            )));
        }
        if self.amount.thousands == Some(self.amount.decimal) {
            return Err(bad(
                "amount.thousands and amount.decimal are the same character".into(),
            ));
        }
        super::values::TimeParser::new(&self.timestamp).map_err(bad)?;
        Ok(())
    }
}

/// A named set of file sections: a preset or a user's mapping file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Shown in plans and recorded with each load (`loads.preset`).
    pub name: String,
    /// What the mapping is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// One section per kind of file.
    #[serde(rename = "file", default)]
    pub files: Vec<FileMapping>,
}

impl Mapping {
    /// Parses a mapping from TOML text and validates it.
    pub fn from_toml_str(text: &str) -> Result<Self, String> {
        let mapping: Mapping = toml::from_str(text).map_err(|e| e.to_string())?;
        if mapping.files.is_empty() {
            return Err("it has no [[file]] section".into());
        }
        for f in &mapping.files {
            f.validate(&mapping.name).map_err(|e| e.to_string())?;
        }
        Ok(mapping)
    }

    /// The mapping as TOML text.
    pub fn to_toml_string(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }

    /// Reads and validates a mapping file.
    pub fn load(path: &Path) -> Result<Self, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::MappingFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text).map_err(|reason| IngestError::MappingFile {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Writes the mapping as TOML (the GUI saves an edited mapping this way).
    pub fn save(&self, path: &Path) -> Result<(), IngestError> {
        let text = self
            .to_toml_string()
            .map_err(|reason| IngestError::BadMapping {
                mapping: self.name.clone(),
                problem: reason,
            })?;
        std::fs::write(path, text).map_err(|source| IngestError::MappingWrite {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Finds a column of `header` by name: exact first, then ignoring case and surrounding
/// spaces. `Name#2` addresses the second column called `Name`.
pub fn resolve_column(header: &[String], name: &str) -> Option<usize> {
    let (base, nth) = match name.rsplit_once('#') {
        Some((b, n)) if !b.is_empty() => match n.parse::<usize>() {
            Ok(k) if k >= 1 => (b, k),
            _ => (name, 1),
        },
        _ => (name, 1),
    };
    let find = |eq: &dyn Fn(&str) -> bool| {
        header
            .iter()
            .enumerate()
            .filter(|(_, h)| eq(h))
            .nth(nth - 1)
            .map(|(i, _)| i)
    };
    find(&|h: &str| h == base)
        .or_else(|| find(&|h: &str| h.trim().eq_ignore_ascii_case(base.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_header_names_are_addressed_by_occurrence() {
        let header: Vec<String> = ["Timestamp", "From Bank", "Account", "To Bank", "Account"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(resolve_column(&header, "Account"), Some(2));
        assert_eq!(resolve_column(&header, "Account#2"), Some(4));
        assert_eq!(resolve_column(&header, "Account#3"), None);
        assert_eq!(resolve_column(&header, "from bank"), Some(1));
        assert_eq!(resolve_column(&header, "Missing"), None);
    }

    #[test]
    fn a_mapping_round_trips_through_toml() {
        let text = r#"
name = "acme"
[[file]]
role = "transactions"
delimiter = ";"
label_columns = ["case_id"]
[file.fields]
tx_id = "Ref"
timestamp = "Booked"
src_account = ["Bank", "IBAN"]
amount = "Amount"
label = "is_fraud"
[file.timestamp]
format = "%d.%m.%Y %H:%M"
timezone = "Europe/Berlin"
[file.amount]
decimal = ","
thousands = "."
"#;
        let m = Mapping::from_toml_str(text).expect("valid mapping");
        assert_eq!(m.files[0].fields.len(), 5);
        let again = Mapping::from_toml_str(&m.to_toml_string().expect("serialises"))
            .expect("round trip parses");
        assert_eq!(m, again);
    }

    #[test]
    fn a_section_missing_a_required_field_is_refused() {
        let text =
            "name = \"x\"\n[[file]]\nrole = \"transactions\"\n[file.fields]\ntx_id = \"id\"\n";
        let err = Mapping::from_toml_str(text).expect_err("timestamp is required");
        assert!(err.contains("must map timestamp"), "{err}");
    }
}
