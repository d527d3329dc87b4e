//! Field errors as the GraphQL spec handles them: a field that fails is `null` and its error is
//! listed once; when the field cannot be null, the null moves up to the nearest parent that can
//! be (or to `data` itself).
//!
//! async-graphql 7 instead leaves a failed field out of its parent's object (and a list item
//! whose fields all failed is `null` whatever its type). [`FieldTypes::complete`] puts the nulls
//! back once the operation has run, from each error's path: it finds the type of every step of
//! the path (the document says which field a response key is, the schema what type that field
//! has), then writes `null` into the deepest step that may be null. Doing this after execution
//! rather than as an async-graphql extension keeps every field on the executor's fast path (an
//! extension's `resolve` hook costs a type lookup and a boxed future per field), and costs
//! nothing at all when no field failed.
//!
//! One deliberate difference from the spec: a non-null root field that fails is left out of
//! `data` (as async-graphql does) rather than making all of `data` null, so that the other root
//! fields keep their answers. For mutations this matters: a client must learn which of several
//! mutations in one document took effect.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationType, Selection, SelectionSet, Type, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::parser::{parse_query, parse_schema};
use async_graphql::{Name, PathSegment, Response, Value};

/// Fragments spread inside fragments deeper than this are not followed (validation, which the
/// operation has passed, refuses cycles; this only bounds the walk).
const MAX_FRAGMENT_NESTING: usize = 32;

/// The type of every field of every object and interface type of a schema.
#[derive(Default)]
pub struct FieldTypes(HashMap<String, HashMap<String, Type>>);

impl FieldTypes {
    /// From the schema's SDL.
    pub fn of_sdl(sdl: &str) -> Self {
        let Ok(document) = parse_schema(sdl) else {
            return Self::default();
        };
        let mut types = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let fields = match &ty.node.kind {
                TypeKind::Object(object) => &object.fields,
                TypeKind::Interface(interface) => &interface.fields,
                _ => continue,
            };
            let fields = fields
                .iter()
                .map(|f| (f.node.name.node.to_string(), f.node.ty.node.clone()))
                .collect();
            types.insert(ty.node.name.node.to_string(), fields);
        }
        Self(types)
    }

    fn field(&self, ty: &str, field: &str) -> Option<&Type> {
        self.0.get(ty)?.get(field)
    }

    /// Writes the nulls the spec asks for into `response`, which ran `query` (its operation
    /// `operation_name`). A response whose errors have no path (nothing ran) is left alone.
    pub fn complete(&self, response: &mut Response, query: &str, operation_name: Option<&str>) {
        if response.errors.iter().all(|error| error.path.is_empty()) {
            return;
        }
        let Ok(document) = parse_query(query) else {
            return;
        };
        let Some((root, selection)) = operation(&document, operation_name) else {
            return;
        };
        let failed: Vec<(&[PathSegment], Vec<bool>)> = response
            .errors
            .iter()
            // An error reported beside an answer (a declined charge answers its payment and
            // `CARD_DECLINED`) leaves the answer in place.
            .filter(|error| !(beside_an_answer(error) && answered(&response.data, &error.path)))
            .filter_map(|error| {
                let nullable = self.nullable_steps(&document, root, selection, &error.path)?;
                Some((error.path.as_slice(), nullable))
            })
            .collect();
        // async-graphql answers an object whose fields all failed as `null`: it is an object
        // again before any null is written (so far, nothing else on an error's path is null,
        // since nothing runs under a null).
        for (path, _) in &failed {
            reopen(&mut response.data, path);
        }
        for (path, nullable) in &failed {
            null_up(&mut response.data, path, nullable);
        }
    }

    /// Whether each step of `path` may be null; `None` when the path does not fit the document
    /// (introspection fields, which the SDL does not list).
    fn nullable_steps(
        &self,
        document: &ExecutableDocument,
        root: &str,
        selection: &SelectionSet,
        path: &[PathSegment],
    ) -> Option<Vec<bool>> {
        let mut sets: Vec<(&str, &SelectionSet)> = vec![(root, selection)];
        let mut current: Option<&Type> = None;
        let mut nullable = Vec::with_capacity(path.len());
        for step in path {
            match step {
                PathSegment::Field(key) => {
                    let mut found = Vec::new();
                    for (ty, set) in &sets {
                        collect(document, ty, set, key, 0, &mut found);
                    }
                    let (parent, field) = found.first()?;
                    let ty = self.field(parent, field.name.node.as_str())?;
                    nullable.push(ty.nullable);
                    let named = named_type(ty);
                    sets = found
                        .iter()
                        .map(|(_, field)| (named, &field.selection_set.node))
                        .collect();
                    current = Some(ty);
                }
                PathSegment::Index(_) => {
                    let BaseType::List(item) = &current?.base else {
                        return None;
                    };
                    nullable.push(item.nullable);
                    current = Some(item);
                }
            }
        }
        Some(nullable)
    }
}

/// The operation that ran: its root type's name and selection.
fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(&'static str, &'a SelectionSet)> {
    let mut operations = document.operations.iter();
    let (_, operation) = match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?,
        None => operations.next()?,
    };
    let root = match operation.node.ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    };
    Some((root, &operation.node.selection_set.node))
}

/// The fields of `set` (and of the fragments in it) answered under `key`, each with the type
/// it is selected on.
fn collect<'a>(
    document: &'a ExecutableDocument,
    ty: &'a str,
    set: &'a SelectionSet,
    key: &str,
    depth: usize,
    found: &mut Vec<(&'a str, &'a Field)>,
) {
    if depth > MAX_FRAGMENT_NESTING {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if field.node.response_key().node.as_str() == key {
                    found.push((ty, &field.node));
                }
            }
            Selection::InlineFragment(inline) => {
                let on = inline
                    .node
                    .type_condition
                    .as_ref()
                    .map_or(ty, |condition| condition.node.on.node.as_str());
                collect(
                    document,
                    on,
                    &inline.node.selection_set.node,
                    key,
                    depth + 1,
                    found,
                );
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(
                        document,
                        fragment.node.type_condition.node.on.node.as_str(),
                        &fragment.node.selection_set.node,
                        key,
                        depth + 1,
                        found,
                    );
                }
            }
        }
    }
}

/// The object, interface or scalar type a (possibly list) type holds.
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named_type(item),
    }
}

/// Nulls the deepest step of `path` that may be null; when none may, leaves the root field out
/// (and `data` null when no root field is left). Steps already null (an earlier error's) are
/// left as they are.
fn null_up(data: &mut Value, path: &[PathSegment], nullable: &[bool]) {
    match nullable.iter().rposition(|&may_be_null| may_be_null) {
        Some(at) => {
            if let Some(slot) = slot(data, &path[..=at]) {
                *slot = Value::Null;
            }
        }
        None => {
            if let (Value::Object(fields), Some(PathSegment::Field(root))) =
                (&mut *data, path.first())
            {
                fields.shift_remove(root.as_str());
                if fields.is_empty() {
                    *data = Value::Null;
                }
            }
        }
    }
}

/// The codes of errors a field reports beside its answer rather than instead of it.
const BESIDE_AN_ANSWER: [&str; 2] = ["CARD_DECLINED", "PAYMENT_FAILED"];

fn beside_an_answer(error: &async_graphql::ServerError) -> bool {
    let code = error.extensions.as_ref().and_then(|e| e.get("code"));
    matches!(code, Some(Value::String(code)) if BESIDE_AN_ANSWER.contains(&code.as_str()))
}

/// Whether the field at `path` answered a value (a failed field is left out or null).
fn answered(data: &Value, path: &[PathSegment]) -> bool {
    let mut value = data;
    for step in path {
        let next = match (value, step) {
            (Value::Object(fields), PathSegment::Field(key)) => fields.get(key.as_str()),
            (Value::List(items), PathSegment::Index(index)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(next) => value = next,
            None => return false,
        }
    }
    !path.is_empty() && !matches!(value, Value::Null)
}

/// Makes each `null` on the way to `path`'s last step an empty object.
fn reopen(data: &mut Value, path: &[PathSegment]) {
    let mut value = data;
    for step in path {
        if matches!(value, Value::Null) && matches!(step, PathSegment::Field(_)) {
            *value = Value::Object(Default::default());
        }
        let next = match (value, step) {
            (Value::Object(fields), PathSegment::Field(key)) => fields.get_mut(key.as_str()),
            (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => value = next,
            None => return,
        }
    }
}

/// The value at `path`, added as `null` when the last step is a field its object left out;
/// `None` when the way there is already null.
fn slot<'a>(data: &'a mut Value, path: &[PathSegment]) -> Option<&'a mut Value> {
    let (last, parents) = path.split_last()?;
    let mut value = data;
    for step in parents {
        value = match (value, step) {
            (Value::Object(fields), PathSegment::Field(key)) => fields.get_mut(key.as_str())?,
            (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    match (value, last) {
        (Value::Object(fields), PathSegment::Field(key)) => {
            Some(fields.entry(Name::new(key)).or_insert(Value::Null))
        }
        (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::ServerError;

    const SDL: &str = "
        type Query { customer(id: String!): Customer  customers: [Customer!]!  count: Int! }
        type Customer { name: String  id: String!  cards: [Card!]!  notes: [String] }
        type Card { last4: String!  brand: String }
    ";

    fn run(data: serde_json::Value, query: &str, paths: &[&[PathSegment]]) -> serde_json::Value {
        let mut response = Response::new(Value::from_json(data).expect("json"));
        for path in paths {
            let mut error = ServerError::new("failed", None);
            error.path = path.to_vec();
            response.errors.push(error);
        }
        FieldTypes::of_sdl(SDL).complete(&mut response, query, None);
        response.data.into_json().expect("json")
    }

    fn field(name: &str) -> PathSegment {
        PathSegment::Field(name.to_owned())
    }

    #[test]
    fn an_error_beside_an_answer_leaves_the_answer() {
        let data = serde_json::json!({"c": {"id": "A"}, "count": 1});
        let mut response = Response::new(Value::from_json(data.clone()).expect("json"));
        let mut error = ServerError::new("declined", None);
        error.path = vec![field("c")];
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "CARD_DECLINED");
        response.errors.push(error);
        let query = "{ c: customer(id: \"A\") { id } count }";
        FieldTypes::of_sdl(SDL).complete(&mut response, query, None);
        assert_eq!(response.data.into_json().expect("json"), data);
    }

    #[test]
    fn a_nullable_field_that_failed_is_null() {
        let data = serde_json::json!({"c": {"id": "A"}});
        let path = [field("c"), field("n")];
        let done = run(data, "{ c: customer(id: \"A\") { id n: name } }", &[&path]);
        assert_eq!(done, serde_json::json!({"c": {"id": "A", "n": null}}));
    }

    #[test]
    fn a_non_null_field_nulls_its_nearest_nullable_parent() {
        // customers: [Customer!]! and cards: [Card!]!: the null goes up to `data` itself
        // through non-null steps, so the root field is left out.
        let data = serde_json::json!({"customers": [{"cards": [{}]}], "count": 1});
        let path = [
            field("customers"),
            PathSegment::Index(0),
            field("cards"),
            PathSegment::Index(0),
            field("last4"),
        ];
        let done = run(
            data,
            "{ customers { cards { ...F } } count } fragment F on Card { last4 }",
            &[&path],
        );
        assert_eq!(done, serde_json::json!({"count": 1}));
        // Under a nullable `customer`, the customer is null.
        let data = serde_json::json!({"customer": {"cards": [{}]}});
        let path = [
            field("customer"),
            field("cards"),
            PathSegment::Index(0),
            field("last4"),
        ];
        let done = run(
            data,
            "{ customer(id: \"A\") { cards { last4 } } }",
            &[&path],
        );
        assert_eq!(done, serde_json::json!({"customer": null}));
    }

    #[test]
    fn a_failed_item_of_a_nullable_list_is_null_alone_and_no_root_left_is_null_data() {
        let data = serde_json::json!({"customer": {"notes": ["a", "b"]}});
        let path = [field("customer"), field("notes"), PathSegment::Index(1)];
        let done = run(data, "{ customer(id: \"A\") { notes } }", &[&path]);
        assert_eq!(
            done,
            serde_json::json!({"customer": {"notes": ["a", null]}})
        );
        let done = run(serde_json::json!({}), "{ count }", &[&[field("count")]]);
        assert_eq!(done, serde_json::Value::Null);
    }

    #[test]
    fn an_object_whose_fields_all_failed_is_an_object_again() {
        // async-graphql answers `customer: null`; `name` may be null, so only it is.
        let data = serde_json::json!({"customer": null});
        let path = [field("customer"), field("name")];
        let done = run(data, "{ customer(id: \"A\") { name } }", &[&path]);
        assert_eq!(done, serde_json::json!({"customer": {"name": null}}));
        let done = run(serde_json::Value::Null, "{ count }", &[&[field("count")]]);
        assert_eq!(done, serde_json::Value::Null);
    }

    #[test]
    fn paths_the_schema_does_not_know_are_left_alone() {
        let data = serde_json::json!({"customer": {"id": "A"}});
        let path = [field("customer"), field("nope")];
        let done = run(data.clone(), "{ customer(id: \"A\") { id } }", &[&path]);
        assert_eq!(done, data);
    }
}
