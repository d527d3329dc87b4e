//! Parses Qualpay's browse `filter` grammar into typed conditions the query layer can bind as parameters.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Most conditions one request may carry, so a query cannot grow without bound.
pub const MAX_CONDITIONS: usize = 50;
/// Most values one `IN` or `NOT_IN` may list.
pub const MAX_LIST_VALUES: usize = 1000;
/// Longest piece of user input echoed back in an error, so errors stay readable.
const MAX_ECHO: usize = 64;

/// The type of a filterable field, which decides how its values are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A signed 64-bit integer.
    Integer,
    /// A decimal number such as an amount.
    Decimal,
    /// A calendar date written `YYYY-MM-DD`.
    Date,
}

impl FieldKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Decimal => "decimal number",
            Self::Date => "date (YYYY-MM-DD)",
        }
    }
}

/// A field a browse endpoint lets callers filter on.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// The name callers use in `filter`.
    pub name: &'static str,
    /// The database column it maps to.
    pub column: &'static str,
    /// How its values are typed.
    pub kind: FieldKind,
}

/// A filter value, typed by its field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A text value.
    Text(String),
    /// An integer value.
    Integer(i64),
    /// A decimal value.
    Decimal(Decimal),
    /// A date value.
    Date(NaiveDate),
}

/// A comparison and its operands.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    /// `EQ`: equal to.
    Eq(Value),
    /// `NE`: not equal to.
    Ne(Value),
    /// `GT`: greater than.
    Gt(Value),
    /// `GE`: greater than or equal to.
    Ge(Value),
    /// `LT`: less than.
    Lt(Value),
    /// `LE`: less than or equal to.
    Le(Value),
    /// `LIKE` on a text field. Only `%` is a wildcard in Qualpay's grammar, so the SQL layer
    /// must escape `_` and its escape character before binding this.
    Like(String),
    /// `IN`: one of the values.
    In(Vec<Value>),
    /// `NOT_IN`: none of the values.
    NotIn(Vec<Value>),
    /// `BETWEEN`: from the first value to the second, inclusive.
    Between(Value, Value),
    /// `IS_NULL`.
    IsNull,
    /// `IS_NOT_NULL`.
    IsNotNull,
}

/// One parsed condition; all conditions of a request are ANDed.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field filtered on.
    pub field: &'static Field,
    /// What it is compared with.
    pub op: Operator,
}

/// Why a filter was rejected. Filter values are not secret, so messages quote them.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The condition lacks a field or an operator.
    #[error("filter: '{0}' is not of the form field,OP,value")]
    Malformed(String),
    /// No field by that name can be filtered on.
    #[error("filter: unknown field '{0}'")]
    UnknownField(String),
    /// The operator is not one of the grammar's.
    #[error(
        "filter: unknown operator '{0}' (expected one of EQ, NE, GT, GE, LT, LE, LIKE, IN, NOT_IN, BETWEEN, IS_NULL, IS_NOT_NULL)"
    )]
    UnknownOperator(String),
    /// The operator (second) on the field (first) needs a value, or a list entry is empty.
    #[error("filter: {0}: {1} needs a non-empty value")]
    MissingValue(&'static str, &'static str),
    /// `IS_NULL` or `IS_NOT_NULL` (second) on the field (first) was given a value.
    #[error("filter: {0}: {1} takes no value")]
    UnexpectedValue(&'static str, &'static str),
    /// `BETWEEN` on the field got other than two values (the count given).
    #[error("filter: {0}: BETWEEN takes exactly 2 values joined by '|', got {1}")]
    BetweenCount(&'static str, usize),
    /// `IN` or `NOT_IN` (second) on the field (first) listed more than [`MAX_LIST_VALUES`] values.
    #[error("filter: {0}: {1} takes at most 1000 values joined by '|'")]
    TooManyValues(&'static str, &'static str),
    /// A value (second, shortened if long) does not parse as what the field (first) expects (third).
    #[error("filter: {0}: '{1}' is not a valid {2}")]
    BadValue(&'static str, String, &'static str),
    /// `LIKE` was used on a field that is not text.
    #[error("filter: {0}: LIKE is only allowed on text fields")]
    LikeNotText(&'static str),
    /// More than [`MAX_CONDITIONS`] conditions were given.
    #[error("filter: too many conditions (at most 50)")]
    TooManyConditions,
}

#[derive(Clone, Copy)]
enum Op {
    Cmp(fn(Value) -> Operator),
    Like,
    In,
    NotIn,
    Between,
    IsNull,
    IsNotNull,
}

const OPS: [(&str, Op); 12] = [
    ("EQ", Op::Cmp(Operator::Eq)),
    ("NE", Op::Cmp(Operator::Ne)),
    ("GT", Op::Cmp(Operator::Gt)),
    ("GE", Op::Cmp(Operator::Ge)),
    ("LT", Op::Cmp(Operator::Lt)),
    ("LE", Op::Cmp(Operator::Le)),
    ("LIKE", Op::Like),
    ("IN", Op::In),
    ("NOT_IN", Op::NotIn),
    ("BETWEEN", Op::Between),
    ("IS_NULL", Op::IsNull),
    ("IS_NOT_NULL", Op::IsNotNull),
];

/// Parses repeated `filter` parameters into conditions, all of which must hold.
pub fn parse(items: &[String], fields: &'static [Field]) -> Result<Vec<Condition>, FilterError> {
    let mut out = Vec::new();
    let raw_conditions = items.iter().flat_map(|item| item.split(';'));
    for raw in raw_conditions.filter(|c| !c.is_empty()) {
        if out.len() == MAX_CONDITIONS {
            return Err(FilterError::TooManyConditions);
        }
        out.push(parse_condition(raw, fields)?);
    }
    Ok(out)
}

/// The field called `name`, if callers may filter on it.
pub fn find_field(fields: &'static [Field], name: &str) -> Option<&'static Field> {
    fields.iter().find(|f| f.name == name)
}

fn parse_condition(raw: &str, fields: &'static [Field]) -> Result<Condition, FilterError> {
    // splitn keeps commas inside the value, which text values may contain.
    let mut parts = raw.splitn(3, ',');
    let (name, op_name) = match (parts.next(), parts.next()) {
        (Some(name), Some(op)) if !name.is_empty() && !op.is_empty() => (name, op),
        _ => return Err(FilterError::Malformed(clip(raw))),
    };
    let value = parts.next().unwrap_or("");
    let field = find_field(fields, name).ok_or_else(|| FilterError::UnknownField(clip(name)))?;
    let (op_name, op) = OPS
        .into_iter()
        .find(|(n, _)| *n == op_name)
        .ok_or_else(|| FilterError::UnknownOperator(clip(op_name)))?;
    let f = field.name;
    let takes_value = !matches!(op, Op::IsNull | Op::IsNotNull);
    if takes_value && value.is_empty() {
        return Err(FilterError::MissingValue(f, op_name));
    }
    if !takes_value && !value.is_empty() {
        return Err(FilterError::UnexpectedValue(f, op_name));
    }
    let op = match op {
        Op::Cmp(make) => make(typed(field, op_name, value)?),
        Op::Like if field.kind != FieldKind::Text => {
            return Err(FilterError::LikeNotText(f));
        }
        Op::Like => Operator::Like(value.to_owned()),
        Op::In => Operator::In(list(field, op_name, value)?),
        Op::NotIn => Operator::NotIn(list(field, op_name, value)?),
        Op::Between => match value.split('|').collect::<Vec<_>>()[..] {
            [lo, hi] => Operator::Between(typed(field, op_name, lo)?, typed(field, op_name, hi)?),
            ref other => {
                return Err(FilterError::BetweenCount(f, other.len()));
            }
        },
        Op::IsNull => Operator::IsNull,
        Op::IsNotNull => Operator::IsNotNull,
    };
    Ok(Condition { field, op })
}

fn list(field: &'static Field, op: &'static str, raw: &str) -> Result<Vec<Value>, FilterError> {
    let mut out = Vec::new();
    for part in raw.split('|') {
        // Checked before parsing so an oversized list is refused without typing all of it.
        if out.len() == MAX_LIST_VALUES {
            return Err(FilterError::TooManyValues(field.name, op));
        }
        out.push(typed(field, op, part)?);
    }
    Ok(out)
}

fn typed(field: &'static Field, op: &'static str, raw: &str) -> Result<Value, FilterError> {
    if raw.is_empty() {
        return Err(FilterError::MissingValue(field.name, op));
    }
    let parsed = match field.kind {
        FieldKind::Text => Some(Value::Text(raw.to_owned())),
        FieldKind::Integer => is_number(raw, false)
            .then(|| raw.parse().ok().map(Value::Integer))
            .flatten(),
        FieldKind::Decimal => is_number(raw, true)
            .then(|| Decimal::from_str_exact(raw).ok().map(Value::Decimal))
            .flatten(),
        FieldKind::Date => parse_date(raw).map(Value::Date),
    };
    parsed.ok_or_else(|| FilterError::BadValue(field.name, clip(raw), field.kind.describe()))
}

/// Plain `-?digits(.digits)?` only: the libraries also accept `+`, `_` and the like, which
/// would let two spellings of one filter differ.
fn is_number(s: &str, allow_fraction: bool) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match unsigned.split_once('.') {
        Some((int, frac)) => allow_fraction && digits(int) && digits(frac),
        None => digits(unsigned),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((end, _)) => format!("{}...", &s[..end]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    const fn field(name: &'static str, column: &'static str, kind: FieldKind) -> Field {
        Field { name, column, kind }
    }

    static FIELDS: &[Field] = &[
        field("customer_first_name", "first_name", FieldKind::Text),
        field("customer_last_name", "last_name", FieldKind::Text),
        field("customer_id", "customer_id", FieldKind::Integer),
        field("amount", "amount", FieldKind::Decimal),
        field("created_on", "created_at", FieldKind::Date),
    ];

    fn one(s: &str) -> Result<Operator, FilterError> {
        let mut conds = parse(&[s.to_owned()], FIELDS)?;
        assert_eq!(conds.len(), 1);
        Ok(conds.remove(0).op)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    fn date(y: i32, m: u32, d: u32) -> Value {
        Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.parse().unwrap())
    }

    #[test]
    fn every_operator_parses() {
        use Operator::*;
        assert_eq!(
            one("customer_last_name,EQ,Doe, Jr."),
            Ok(Eq(text("Doe, Jr.")))
        );
        assert_eq!(one("customer_id,NE,-42"), Ok(Ne(Value::Integer(-42))));
        assert_eq!(one("amount,GT,10.50"), Ok(Gt(dec("10.5"))));
        assert_eq!(one("amount,GE,3"), Ok(Ge(dec("3"))));
        assert_eq!(one("created_on,LT,2024-02-29"), Ok(Lt(date(2024, 2, 29))));
        assert_eq!(one("customer_id,LE,7"), Ok(Le(Value::Integer(7))));
        assert_eq!(one("customer_first_name,LIKE,J%"), Ok(Like("J%".into())));
        let ids = vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)];
        assert_eq!(one("customer_id,IN,1|2|3"), Ok(In(ids)));
        assert_eq!(
            one("customer_last_name,NOT_IN,a,b"),
            Ok(NotIn(vec![text("a,b")]))
        );
        let between = Between(date(2024, 1, 1), date(2024, 12, 31));
        assert_eq!(one("created_on,BETWEEN,2024-01-01|2024-12-31"), Ok(between));
        assert_eq!(one("amount,IS_NULL"), Ok(IsNull));
        assert_eq!(one("amount,IS_NULL,"), Ok(IsNull));
        assert_eq!(one("customer_id,IS_NOT_NULL"), Ok(IsNotNull));
    }

    #[test]
    fn items_split_on_semicolons_and_skip_empties() {
        let items = [
            "customer_last_name,EQ,Doe;customer_first_name,LIKE,J%;".to_owned(),
            String::new(),
            ";;amount,LT,5".to_owned(),
        ];
        let conds = parse(&items, FIELDS).unwrap();
        let names: Vec<_> = conds.iter().map(|c| c.field.name).collect();
        assert_eq!(
            names,
            ["customer_last_name", "customer_first_name", "amount"]
        );
        assert_eq!(conds[2].field.column, "amount");
        assert_eq!(parse(&[], FIELDS), Ok(vec![]));
    }

    #[test]
    fn errors_name_the_culprit() {
        let between = "BETWEEN takes exactly 2 values joined by '|', got";
        let cases = [
            ("foo,EQ,1", "unknown field 'foo'".to_owned()),
            ("amount,eq,1", "unknown operator 'eq' (expected one of EQ, NE, GT, GE, LT, LE, LIKE, IN, NOT_IN, BETWEEN, IS_NULL, IS_NOT_NULL)".to_owned()),
            ("abc", "'abc' is not of the form field,OP,value".to_owned()),
            (",EQ,1", "',EQ,1' is not of the form field,OP,value".to_owned()),
            ("amount,,1", "'amount,,1' is not of the form field,OP,value".to_owned()),
            ("customer_id,EQ,abc", "customer_id: 'abc' is not a valid integer".to_owned()),
            ("customer_id,EQ", "customer_id: EQ needs a non-empty value".to_owned()),
            ("customer_id,IN,1||2", "customer_id: IN needs a non-empty value".to_owned()),
            ("amount,IS_NULL,x", "amount: IS_NULL takes no value".to_owned()),
            ("amount,LIKE,1%", "amount: LIKE is only allowed on text fields".to_owned()),
            ("amount,BETWEEN,1", format!("amount: {between} 1")),
            ("amount,BETWEEN,1|2|3", format!("amount: {between} 3")),
        ];
        for (input, message) in cases {
            assert_eq!(
                one(input).unwrap_err().to_string(),
                format!("filter: {message}")
            );
        }
        let thousand = vec!["1"; 1000].join("|");
        assert!(one(&format!("customer_id,IN,{thousand}")).is_ok());
        for op in ["IN", "NOT_IN"] {
            let e = one(&format!("customer_id,{op},2|{thousand}")).unwrap_err();
            let expected =
                format!("filter: customer_id: {op} takes at most 1000 values joined by '|'");
            assert_eq!(e.to_string(), expected);
        }
        let long = one(&format!("customer_id,EQ,{}", "9".repeat(500)))
            .unwrap_err()
            .to_string();
        assert!(
            long.len() < 120 && long.ends_with("...' is not a valid integer"),
            "{long}"
        );
    }

    #[test]
    fn typed_values_are_strict() {
        let cases = [
            ("customer_id", "+1 1.0 1_000 9223372036854775808 1e3 0x1 -"),
            (
                "amount",
                "1. .5 - +1 1.2.3 1,5 1e3 0.00000000000000000000000000001",
            ),
            (
                "created_on",
                "2024-2-29 2023-02-29 24-02-29 2024/02/29 2024-02-2x 2024-0２-1",
            ),
        ];
        for (name, bads) in cases {
            for bad in bads.split(' ') {
                let e = one(&format!("{name},EQ,{bad}"));
                assert!(
                    matches!(e, Err(FilterError::BadValue(f, ..)) if f == name),
                    "{bad}"
                );
            }
        }
        assert!(one("customer_id,EQ, 1").is_err());
        assert_eq!(one("amount,EQ,-0.01"), Ok(Operator::Eq(dec("-0.01"))));
    }

    #[test]
    fn caps_conditions_at_fifty() {
        let cond = "customer_id,EQ,1";
        assert_eq!(
            parse(&[vec![cond; 50].join(";")], FIELDS).map(|c| c.len()),
            Ok(50)
        );
        let items = vec![cond.to_owned(); 51];
        assert_eq!(parse(&items, FIELDS), Err(FilterError::TooManyConditions));
    }

    fn show(v: &Value) -> String {
        match v {
            Value::Text(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }

    /// The inverse of `parse` for one condition.
    fn format_condition(c: &Condition) -> String {
        use Operator::*;
        let join = |vs: &[Value]| vs.iter().map(show).collect::<Vec<_>>().join("|");
        let (op, value) = match &c.op {
            Eq(v) => ("EQ", show(v)),
            Ne(v) => ("NE", show(v)),
            Gt(v) => ("GT", show(v)),
            Ge(v) => ("GE", show(v)),
            Lt(v) => ("LT", show(v)),
            Le(v) => ("LE", show(v)),
            Like(s) => ("LIKE", s.clone()),
            In(vs) => ("IN", join(vs)),
            NotIn(vs) => ("NOT_IN", join(vs)),
            Between(a, b) => ("BETWEEN", join(&[a.clone(), b.clone()])),
            IsNull => return format!("{},IS_NULL", c.field.name),
            IsNotNull => return format!("{},IS_NOT_NULL,", c.field.name),
        };
        format!("{},{op},{value}", c.field.name)
    }

    /// Values for `kind`; list entries may not hold `|`, and nothing may hold `;`.
    fn value(kind: FieldKind, in_list: bool) -> BoxedStrategy<Value> {
        match kind {
            FieldKind::Text if in_list => "[a-zA-Z0-9 ,%_.'-]{1,12}".prop_map(Value::Text).boxed(),
            FieldKind::Text => "[a-zA-Z0-9 ,|%_.'-]{1,12}".prop_map(Value::Text).boxed(),
            FieldKind::Integer => any::<i64>().prop_map(Value::Integer).boxed(),
            FieldKind::Decimal => (any::<i64>(), 0u32..=10)
                .prop_map(|(m, s)| Value::Decimal(Decimal::new(m, s)))
                .boxed(),
            FieldKind::Date => (1i32..=9999, 1u32..=12, 1u32..=28)
                .prop_map(|(y, m, d)| date(y, m, d))
                .boxed(),
        }
    }

    fn condition() -> impl Strategy<Value = Condition> {
        (0..FIELDS.len(), 0usize..12).prop_flat_map(|(i, op)| {
            let field = &FIELDS[i];
            let k = field.kind;
            let ops = match op {
                0 => value(k, false).prop_map(Operator::Eq).boxed(),
                1 => value(k, false).prop_map(Operator::Ne).boxed(),
                2 => value(k, false).prop_map(Operator::Gt).boxed(),
                3 => value(k, false).prop_map(Operator::Ge).boxed(),
                4 => value(k, false).prop_map(Operator::Lt).boxed(),
                5 => value(k, false).prop_map(Operator::Le).boxed(),
                6 if k == FieldKind::Text => {
                    "[a-zA-Z0-9 ,|%_.-]{1,12}".prop_map(Operator::Like).boxed()
                }
                7 => vec(value(k, true), 1..6).prop_map(Operator::In).boxed(),
                8 => vec(value(k, true), 1..6).prop_map(Operator::NotIn).boxed(),
                9 => (value(k, true), value(k, true))
                    .prop_map(|(a, b)| Operator::Between(a, b))
                    .boxed(),
                10 => Just(Operator::IsNull).boxed(),
                _ => Just(Operator::IsNotNull).boxed(),
            };
            ops.prop_map(move |op| Condition { field, op })
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(items in vec("\\PC*", 0..4), grammarish in vec("[a-z_]{0,8}(,[A-Z_]{0,7}(,[-a-z0-9.|%,;]{0,20})?)?;?", 0..4)) {
            let _ = parse(&items, FIELDS);
            let _ = parse(&grammarish, FIELDS);
        }

        #[test]
        fn formatted_conditions_parse_back(groups in vec(vec(condition(), 1..4), 0..8)) {
            let items: Vec<String> = groups
                .iter()
                .map(|g| g.iter().map(format_condition).collect::<Vec<_>>().join(";"))
                .collect();
            let expected: Vec<Condition> = groups.into_iter().flatten().collect();
            prop_assert_eq!(parse(&items, FIELDS), Ok(expected));
        }
    }
}
