//! The schema: the committed SDL is the served one, and no output type can carry a card
//! number, an account number or a CVV.

use serde_json::json;

use super::support::GatewayApp;

const SDL_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/vault.graphql");

fn committed_sdl() -> String {
    std::fs::read_to_string(SDL_PATH).unwrap_or_else(|e| panic!("cannot read {SDL_PATH}: {e}"))
}

/// A line diff (longest common subsequence), `-` for lines only in `old`, `+` for lines only
/// in `new`, each with its line number; unchanged lines are left out.
fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the LCS of old[i..] and new[j..].
    let mut lcs = vec![vec![0_u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{:>5} | {}\n", j + 1, new[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{:>5} | {}\n", i + 1, old[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn the_line_diff_shows_removed_and_added_lines() {
    assert_eq!(line_diff("a\nb\nc\n", "a\nb\nc\n"), "");
    assert_eq!(
        line_diff("a\nb\nc\n", "a\nx\nc\nd\n"),
        "+    2 | x\n-    2 | b\n+    4 | d\n"
    );
}

#[test]
fn the_committed_schema_is_the_served_one() {
    let served = vaultql::gateway::sdl();
    let committed = committed_sdl();
    if served != committed {
        panic!(
            "schema/vault.graphql is out of date; run `cargo run -- schema > schema/vault.graphql`.\n\
             - committed (schema/vault.graphql), + served (vaultql::gateway::sdl()):\n{}",
            line_diff(&committed, &served)
        );
    }
}

const INTROSPECTION: &str = r#"{
  __schema {
    types {
      kind name
      fields(includeDeprecated: true) { name args { name } }
      inputFields { name }
    }
  }
}"#;

/// Whether a field name could carry a full card or account number or a CVV.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('_', "");
    name.contains("cvv")
        || [
            "cardnumber",
            "accountnumber",
            "ddanumber",
            "pan",
            "cvc",
            "securitycode",
        ]
        .contains(&name.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_type_has_a_field_for_a_card_number_account_number_or_cvv() {
    let app = GatewayApp::spawn().await;
    let data = app.data(INTROSPECTION, json!({})).await;
    let types = data["__schema"]["types"].as_array().unwrap();

    let mut output_fields = Vec::new();
    let mut input_fields = Vec::new();
    for kind in types {
        let type_name = kind["name"].as_str().unwrap();
        match kind["kind"].as_str().unwrap() {
            "OBJECT" | "INTERFACE" => {
                for field in kind["fields"].as_array().unwrap() {
                    output_fields.push(format!("{type_name}.{}", field["name"].as_str().unwrap()));
                }
            }
            "INPUT_OBJECT" => {
                for field in kind["inputFields"].as_array().unwrap() {
                    input_fields.push((
                        type_name.to_owned(),
                        field["name"].as_str().unwrap().to_owned(),
                    ));
                }
            }
            _ => {}
        }
    }
    assert!(
        output_fields.len() > 100,
        "the walk saw the schema: {output_fields:?}"
    );
    for must_exist in [
        "Card.maskedNumber",
        "BankAccount.maskedNumber",
        "Customer.cards",
        "Query.customer",
    ] {
        assert!(
            output_fields.iter().any(|f| f == must_exist),
            "{must_exist} in {output_fields:?}"
        );
    }

    let leaks: Vec<&String> = output_fields
        .iter()
        .filter(|field| is_secret_name(field.rsplit('.').next().unwrap()))
        .collect();
    assert!(
        leaks.is_empty(),
        "output fields that could carry a secret: {leaks:?}"
    );

    // The names are real: the inputs have them, so the check above would see them.
    for (type_name, field) in [
        ("CardInput", "cardNumber"),
        ("CardInput", "cvv2"),
        ("AddCardInput", "cardNumber"),
        ("AddCardInput", "cvv2"),
        ("UpdateCardInput", "cvv2"),
        ("BankAccountInput", "accountNumber"),
        ("AddBankAccountInput", "accountNumber"),
    ] {
        assert!(
            input_fields
                .iter()
                .any(|(t, f)| t == type_name && f == field),
            "{type_name}.{field} among the inputs"
        );
        assert!(is_secret_name(field), "{field} is recognised as secret");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_schema_introspects_as_the_committed_sdl_says() {
    let app = GatewayApp::spawn().await;
    let data = app
        .data(
            r#"{ __schema { queryType { name } mutationType { name } subscriptionType { name }
                 types { name } } }"#,
            json!({}),
        )
        .await;
    let committed = committed_sdl();
    let schema = &data["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    assert_eq!(schema["subscriptionType"]["name"], "Subscription");
    for type_name in schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|name| !name.starts_with("__"))
        .filter(|name| !["String", "Int", "Boolean", "ID", "Float"].contains(name))
    {
        let declared = ["type", "input", "enum", "interface", "scalar"]
            .iter()
            .any(|keyword| {
                committed.lines().any(|line| {
                    line.starts_with(&format!("{keyword} {type_name} "))
                        || line == format!("{keyword} {type_name}")
                })
            });
        assert!(
            declared,
            "{type_name} is served but not in schema/vault.graphql"
        );
    }
}

/// The introspection query GraphiQL sends on load (graphql-js `getIntrospectionQuery` with
/// descriptions, deprecated input values, repeatable directives and a type-reference depth of 9).
const GRAPHIQL_INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name description isRepeatable locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn graphiqls_introspection_query_passes_the_depth_and_complexity_limits() {
    let app = GatewayApp::spawn().await;
    let data = app.data(GRAPHIQL_INTROSPECTION, json!({})).await;
    let types = data["__schema"]["types"].as_array().expect("the types");
    assert!(types.iter().any(|t| t["name"] == "Customer"));
    assert!(types.iter().any(|t| t["name"] == "BillingSubscription"));
}

/// The schema's contract: every mutation takes one `input: <Mutation>Input!` and returns a
/// `<Mutation>Payload!`, and every custom scalar says what it holds.
#[tokio::test(flavor = "multi_thread")]
async fn every_mutation_has_its_own_input_and_payload_and_every_scalar_a_description() {
    let app = GatewayApp::spawn().await;
    let data = app
        .data(
            r#"{ __schema {
                 mutationType { fields { name
                   args { name type { kind ofType { name } } }
                   type { kind ofType { name } } } }
                 types { name kind description } } }"#,
            json!({}),
        )
        .await;
    let schema = &data["__schema"];
    let mutations = schema["mutationType"]["fields"].as_array().unwrap();
    assert!(mutations.len() >= 20, "{mutations:?}");
    for mutation in mutations {
        let name = mutation["name"].as_str().unwrap();
        let capitalized = super::support::input_type(name);
        let stem = capitalized.trim_end_matches("Input");
        let args = mutation["args"].as_array().unwrap();
        assert_eq!(args.len(), 1, "{name} takes one argument");
        assert_eq!(args[0]["name"], "input", "{name}");
        assert_eq!(args[0]["type"]["kind"], "NON_NULL", "{name}");
        assert_eq!(args[0]["type"]["ofType"]["name"], format!("{stem}Input"));
        assert_eq!(mutation["type"]["kind"], "NON_NULL", "{name}");
        assert_eq!(mutation["type"]["ofType"]["name"], format!("{stem}Payload"));
    }
    for scalar in schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "SCALAR")
        .filter(|t| {
            !["String", "Int", "Boolean", "ID", "Float"].contains(&t["name"].as_str().unwrap())
        })
    {
        let description = scalar["description"].as_str().unwrap_or_default();
        assert!(
            description.len() > 20 && !description.contains("Implement"),
            "{} has a description of its own: {description:?}",
            scalar["name"]
        );
    }
}
