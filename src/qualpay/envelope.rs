//! The `{"code":0,"message":"Success","data":...}` envelope every Qualpay response uses.

use serde::{Deserialize, Serialize};

pub const SUCCESS_MESSAGE: &str = "Success";

/// `QPApiResponse` and its typed variants (`CustomerResponse`, `GetBillingResponse`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiResponse<T> {
    pub code: i32,
    pub message: String,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl<T> ApiResponse<T> {
    pub fn success(data: T) -> Self {
        Self {
            code: 0,
            message: SUCCESS_MESSAGE.to_owned(),
            data: Some(data),
        }
    }
}

/// A browse response such as `CustomerListResponse`: the page and the paging totals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListResponse<T> {
    pub code: i32,
    pub message: String,
    #[serde(rename = "totalRecords", default)]
    pub total_records: i64,
    #[serde(rename = "totalPages", default)]
    pub total_pages: i64,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// What every envelope says besides its data: `code` (0 is success) and `message`.
pub trait Envelope {
    fn code(&self) -> i32;
    fn message(&self) -> &str;
}

impl<T> Envelope for ApiResponse<T> {
    fn code(&self) -> i32 {
        self.code
    }

    fn message(&self) -> &str {
        &self.message
    }
}

impl<T> Envelope for ListResponse<T> {
    fn code(&self) -> i32 {
        self.code
    }

    fn message(&self) -> &str {
        &self.message
    }
}

fn none<T>() -> Option<T> {
    None
}
