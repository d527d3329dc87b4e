//! Qualpay's browse `filter` grammar, as a client sends it: one `field,OP,value` item per
//! `filter` parameter, list values joined by `|` (and items by `;` inside one parameter).
//!
//! Every filter the gateway sends is built here, under one rule for what a value may hold, so
//! nothing a caller typed can change the grammar (a `|` that adds a value to a list, a `;` that
//! adds a condition, a `%` that widens a prefix) or make a request too large to send. What the
//! rule refuses is a [`FilterError`] that names the field and the rule, never the value (which
//! may be anything a caller pasted, a card number included). The vault parses the same grammar
//! on its side (`vault::filter`), into typed conditions.

use std::fmt;

/// Longest value one filter may carry, in characters. Qualpay's longest filterable fields
/// (names, e-mail addresses) are shorter than this; ids are at most 32 characters.
pub const MAX_VALUE_CHARS: usize = 128;

/// Most values one list (`IN`) filter may carry: one page of Qualpay's answer.
pub const MAX_LIST_VALUES: usize = 100;

/// The operators the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Equal to the value.
    Eq,
    /// Starts with the value (`LIKE value%`).
    Prefix,
    /// Equal to one of the values.
    In,
    /// Greater than or equal to the value.
    Ge,
    /// Less than or equal to the value.
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "EQ",
            Self::Prefix => "LIKE",
            Self::In => "IN",
            Self::Ge => "GE",
            Self::Le => "LE",
        }
    }
}

/// One browse condition, checked when it was made: its text is always one well-formed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    field: &'static str,
    op: Op,
    values: Vec<String>,
}

/// Why a value cannot be sent as a filter. It names the field, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    Empty {
        field: &'static str,
    },
    TooLong {
        field: &'static str,
    },
    Separator {
        field: &'static str,
        separator: char,
    },
    NoValues {
        field: &'static str,
    },
    TooManyValues {
        field: &'static str,
    },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { field } => write!(f, "a {field} filter value cannot be empty"),
            Self::TooLong { field } => write!(
                f,
                "a {field} filter value is longer than {MAX_VALUE_CHARS} characters"
            ),
            Self::Separator { field, separator } => {
                write!(f, "a {field} filter value cannot contain '{separator}'")
            }
            Self::NoValues { field } => write!(f, "a {field} list must hold at least one value"),
            Self::TooManyValues { field } => {
                write!(f, "a {field} list holds more than {MAX_LIST_VALUES} values")
            }
        }
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// `field` equal to `value`.
    pub fn eq(field: &'static str, value: &str) -> Result<Self, FilterError> {
        Self::new(field, Op::Eq, [value])
    }

    /// `field` starting with `prefix`.
    pub fn prefix(field: &'static str, prefix: &str) -> Result<Self, FilterError> {
        Self::new(field, Op::Prefix, [prefix])
    }

    /// `field` equal to one of `values` (at most [`MAX_LIST_VALUES`]).
    pub fn any_of<V: AsRef<str>>(
        field: &'static str,
        values: impl IntoIterator<Item = V>,
    ) -> Result<Self, FilterError> {
        Self::new(field, Op::In, values)
    }

    /// `field` at or after `value`.
    pub fn at_least(field: &'static str, value: &str) -> Result<Self, FilterError> {
        Self::new(field, Op::Ge, [value])
    }

    /// `field` at or before `value`.
    pub fn at_most(field: &'static str, value: &str) -> Result<Self, FilterError> {
        Self::new(field, Op::Le, [value])
    }

    /// The rule, in one place: every value is non-empty, at most [`MAX_VALUE_CHARS`] long and
    /// free of the grammar's separators (`;` between items, `|` between list values) and, in
    /// a prefix, of the wildcard `%`; a list holds 1 to [`MAX_LIST_VALUES`] values.
    fn new<V: AsRef<str>>(
        field: &'static str,
        op: Op,
        values: impl IntoIterator<Item = V>,
    ) -> Result<Self, FilterError> {
        let separators: &[char] = match op {
            Op::Prefix => &[';', '|', '%'],
            _ => &[';', '|'],
        };
        let mut checked = Vec::new();
        for value in values {
            if checked.len() == MAX_LIST_VALUES {
                return Err(FilterError::TooManyValues { field });
            }
            let value = value.as_ref();
            if value.is_empty() {
                return Err(FilterError::Empty { field });
            }
            // Counted no further than the limit: a huge value costs no more than a long one.
            if value.chars().nth(MAX_VALUE_CHARS).is_some() {
                return Err(FilterError::TooLong { field });
            }
            if let Some(separator) = value.chars().find(|c| separators.contains(c)) {
                return Err(FilterError::Separator { field, separator });
            }
            checked.push(value.to_owned());
        }
        if checked.is_empty() {
            return Err(FilterError::NoValues { field });
        }
        Ok(Self {
            field,
            op,
            values: checked,
        })
    }

    /// `field` equal to a number (an id): always a valid item.
    pub fn id(field: &'static str, value: i64) -> Self {
        Self {
            field,
            op: Op::Eq,
            values: vec![value.to_string()],
        }
    }

    /// Whether `value` may be sent as one value of an `EQ` or `IN` filter: loaders leave out
    /// keys that cannot be (no such object can exist) instead of failing the batch.
    pub fn sendable(value: &str) -> bool {
        Self::eq("", value).is_ok()
    }
}

/// The item as sent: `field,OP,value`, `field,LIKE,prefix%` or `field,IN,a|b|c`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{}",
            self.field,
            self.op.as_str(),
            self.values.join("|")
        )?;
        if self.op == Op::Prefix {
            f.write_str("%")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_render_as_single_items() {
        let cases = [
            (Filter::eq("customer_id", "ALICE"), "customer_id,EQ,ALICE"),
            (
                Filter::prefix("customer_last_name", "Smi"),
                "customer_last_name,LIKE,Smi%",
            ),
            (
                Filter::any_of("customer_id", ["A1", "B2"]),
                "customer_id,IN,A1|B2",
            ),
            (
                Filter::at_least("date_next", "2027-01-31"),
                "date_next,GE,2027-01-31",
            ),
            (
                Filter::at_most("date_start", "2027-02-28"),
                "date_start,LE,2027-02-28",
            ),
            (
                Filter::eq("customer_email", "a,b@example.com"),
                "customer_email,EQ,a,b@example.com",
            ),
        ];
        for (filter, wire) in cases {
            assert_eq!(filter.expect("a valid filter").to_string(), wire);
        }
    }

    #[test]
    fn values_that_would_change_the_grammar_are_refused_without_being_echoed() {
        let secret = "4111111111111111;x";
        let refused = [
            Filter::eq("customer_id", secret),
            Filter::eq("customer_id", "a|b"),
            Filter::prefix("customer_id", "50%"),
            Filter::eq("customer_id", ""),
            Filter::any_of("customer_id", ["ok", ""]),
            Filter::any_of("customer_id", Vec::<String>::new()),
        ];
        for result in refused {
            let error = result.expect_err("refused");
            assert!(!error.to_string().contains("4111"), "{error}");
            assert!(error.to_string().contains("customer_id"), "{error}");
        }
        assert_eq!(
            Filter::prefix("customer_id", "50%"),
            Err(FilterError::Separator {
                field: "customer_id",
                separator: '%'
            })
        );
        // `%` is only a wildcard in a prefix.
        assert!(Filter::eq("customer_email", "50%@example.com").is_ok());
    }

    #[test]
    fn sizes_are_bounded() {
        let longest = "x".repeat(MAX_VALUE_CHARS);
        assert!(Filter::eq("customer_id", &longest).is_ok());
        let huge = "x".repeat(900 * 1024);
        assert_eq!(
            Filter::eq("customer_id", &huge),
            Err(FilterError::TooLong {
                field: "customer_id"
            })
        );
        let ids: Vec<String> = (0..MAX_LIST_VALUES).map(|i| format!("C{i}")).collect();
        assert!(Filter::any_of("customer_id", &ids).is_ok());
        let many: Vec<String> = (0..50_000).map(|i| format!("C{i}")).collect();
        assert_eq!(
            Filter::any_of("customer_id", &many),
            Err(FilterError::TooManyValues {
                field: "customer_id"
            })
        );
    }
}
