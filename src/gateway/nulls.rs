//! Field errors as the GraphQL spec handles them: a field that fails is `null` and its error is
//! listed once; when the field cannot be null, the null moves up to the nearest parent that can
//! be (or to `data` itself).
//!
//! async-graphql 7 instead leaves a failed field out of its parent's object. [`NullOnError`]
//! puts the nulls back: for a nullable field it keeps the error aside and answers `null`; for a
//! non-null one it lets the error through and marks the field's path, and the parent, once
//! resolved, turns itself (or the list item holding the field) into `null`, marking itself in
//! turn when it cannot be null. The kept errors join the response at the end.
//!
//! One deliberate difference from the spec: a non-null root field that fails is left out of
//! `data` (as async-graphql does) rather than making all of `data` null, so that the other root
//! fields keep their answers. For mutations this matters: a client must learn which of several
//! mutations in one document took effect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerError, ServerResult, Value};

pub struct NullOnError;

impl ExtensionFactory for NullOnError {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Nulls::default())
    }
}

/// One operation's state.
#[derive(Default)]
struct Nulls {
    /// Errors of nullable fields, answered `null`; they join the response at the end.
    errors: Mutex<Vec<ServerError>>,
    /// Paths of non-null fields that ended up null: their parents must become null.
    null_paths: Mutex<Vec<Vec<String>>>,
    /// Whether `null_paths` has ever held anything (skips the lock on the common path).
    any_null: AtomicBool,
}

impl Nulls {
    fn mark(&self, path: Vec<String>) {
        self.any_null.store(true, Ordering::Release);
        lock(&self.null_paths).push(path);
    }

    /// Takes the marks of this field's own fields: `path + name`, or `path + index + name`
    /// inside a list. Returns the list indices they were under (`None` for a direct field).
    fn take_children(&self, path: &[String]) -> Vec<Option<usize>> {
        let mut marks = lock(&self.null_paths);
        let mut children = Vec::new();
        marks.retain(|mark| {
            let Some(rest) = mark.strip_prefix(path) else {
                return true;
            };
            let index = match rest {
                [_field] => None,
                [index, _field] => match index.parse::<usize>() {
                    Ok(index) => Some(index),
                    Err(_) => return true,
                },
                _ => return true,
            };
            children.push(index);
            false
        });
        children
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl Extension for Nulls {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors.append(&mut lock(&self.errors));
        // A non-null root field that ended up null is left out, like one that failed itself.
        if let Value::Object(fields) = &mut response.data {
            for path in lock(&self.null_paths).iter() {
                if let [root] = path.as_slice() {
                    fields.shift_remove(root.as_str());
                }
            }
            if fields.is_empty() {
                response.data = Value::Null;
            }
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let path_node = *info.path_node;
        let nullable = !info.return_type.ends_with('!');
        // An item of `[T]` may be null by itself; of `[T!]`, the whole list goes.
        let items_nullable = info
            .return_type
            .trim_end_matches('!')
            .strip_prefix('[')
            .is_some_and(|inner| !inner.trim_end_matches(']').ends_with('!'));
        let value = match next.run(ctx, info).await {
            Ok(value) => value,
            Err(error) if nullable => {
                lock(&self.errors).push(error);
                return Ok(Some(Value::Null));
            }
            Err(error) => {
                self.mark(path_node.to_string_vec());
                return Err(error);
            }
        };
        // The common case: nothing in this operation has failed, so no path is worked out.
        if !self.any_null.load(Ordering::Acquire) {
            return Ok(value);
        }
        let path = path_node.to_string_vec();
        let children = self.take_children(&path);
        if children.is_empty() {
            return Ok(value);
        }
        let whole = children
            .iter()
            .any(|index| index.is_none() || !items_nullable);
        if !whole {
            let mut value = value;
            if let Some(Value::List(items)) = value.as_mut() {
                for index in children.into_iter().flatten() {
                    if let Some(item) = items.get_mut(index) {
                        *item = Value::Null;
                    }
                }
            }
            return Ok(value);
        }
        if !nullable {
            self.mark(path);
        }
        Ok(Some(Value::Null))
    }
}
