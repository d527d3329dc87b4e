//! `addShippingAddress`, `updateShippingAddress`, `removeShippingAddress`,
//! `setPrimaryShippingAddress`.

use super::per_mutation;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::changed;
use crate::gateway::access::{self, Permission};
use crate::gateway::context::{loaders, upstream};
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::{Customer, ShippingAddress};
use crate::qualpay::{AddShippingAddressRequest, ShippingIdRequest, UpdateShippingAddressRequest};

#[derive(Default)]
pub struct AddressMutations;

#[derive(InputObject)]
pub struct ShippingAddressInput {
    pub first_name: String,
    pub last_name: String,
    pub firm_name: Option<String>,
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub zip4: Option<String>,
    pub country: Option<String>,
    /// ISO 3166 numeric country code, e.g. `840`.
    pub country_code: Option<String>,
    /// Make this the default shipping address.
    pub primary: Option<bool>,
}

impl ShippingAddressInput {
    pub fn to_request(&self) -> AddShippingAddressRequest {
        AddShippingAddressRequest {
            shipping_first_name: Some(self.first_name.clone()),
            shipping_last_name: Some(self.last_name.clone()),
            shipping_firm_name: self.firm_name.clone(),
            shipping_addr1: self.addr1.clone(),
            shipping_addr2: self.addr2.clone(),
            shipping_city: self.city.clone(),
            shipping_state: self.state.clone(),
            shipping_zip: self.zip.clone(),
            shipping_zip4: self.zip4.clone(),
            shipping_country: self.country.clone(),
            shipping_country_code: self.country_code.clone(),
            primary: self.primary,
            merchant_id: None,
        }
    }
}

#[derive(InputObject)]
pub struct AddShippingAddressInput {
    pub customer_id: String,
    #[graphql(flatten)]
    pub address: ShippingAddressInput,
}

/// Fields that are given change.
#[derive(InputObject)]
pub struct UpdateShippingAddressInput {
    pub customer_id: String,
    pub shipping_id: ID,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub firm_name: Option<String>,
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub zip4: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub primary: Option<bool>,
}

per_mutation! {
    /// Names one shipping address of a customer.
    #[derive(InputObject)]
    { customer_id: String, shipping_id: ID }
    as RemoveShippingAddressInput, SetPrimaryShippingAddressInput
}

per_mutation! {
    #[derive(SimpleObject)]
    { customer: Customer, shipping_address: Option<ShippingAddress> }
    as AddShippingAddressPayload, UpdateShippingAddressPayload, SetPrimaryShippingAddressPayload
}

#[derive(SimpleObject)]
pub struct RemoveShippingAddressPayload {
    pub customer: Customer,
    pub removed_shipping_id: ID,
}

#[Object]
impl AddressMutations {
    async fn add_shipping_address(
        &self,
        ctx: &Context<'_>,
        input: AddShippingAddressInput,
    ) -> Result<AddShippingAddressPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::ManageShippingAddresses),
        )?;
        let result = upstream(ctx)?
            .add_shipping_address(&input.customer_id, &input.address.to_request())
            .await;
        let customer = changed(ctx, result).await?;
        // The vault numbers addresses in order, so the new one has the highest id.
        let shipping_address = customer
            .shipping_address_list()
            .into_iter()
            .max_by_key(ShippingAddress::key);
        Ok(AddShippingAddressPayload {
            customer,
            shipping_address,
        })
    }

    async fn update_shipping_address(
        &self,
        ctx: &Context<'_>,
        input: UpdateShippingAddressInput,
    ) -> Result<UpdateShippingAddressPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::ManageShippingAddresses),
        )?;
        let shipping_id = parse_id(&input.shipping_id)?;
        // The vault requires both names on every update; keep the current ones when not given.
        let (first_name, last_name) = match (input.first_name, input.last_name) {
            (Some(first), Some(last)) => (first, last),
            (first, last) => {
                let current = current_names(ctx, &input.customer_id, shipping_id).await?;
                (first.unwrap_or(current.0), last.unwrap_or(current.1))
            }
        };
        let request = UpdateShippingAddressRequest {
            shipping_id,
            shipping_first_name: Some(first_name),
            shipping_last_name: Some(last_name),
            shipping_firm_name: input.firm_name,
            shipping_addr1: input.addr1,
            shipping_addr2: input.addr2,
            shipping_city: input.city,
            shipping_state: input.state,
            shipping_zip: input.zip,
            shipping_zip4: input.zip4,
            shipping_country: input.country,
            shipping_country_code: input.country_code,
            primary: input.primary,
            merchant_id: None,
        };
        let result = upstream(ctx)?
            .update_shipping_address(&input.customer_id, &request)
            .await;
        let customer = changed(ctx, result).await?;
        let shipping_address = customer.shipping_address(shipping_id);
        Ok(UpdateShippingAddressPayload {
            customer,
            shipping_address,
        })
    }

    /// Removes an address; if it was primary, the oldest remaining one becomes primary.
    async fn remove_shipping_address(
        &self,
        ctx: &Context<'_>,
        input: RemoveShippingAddressInput,
    ) -> Result<RemoveShippingAddressPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::ManageShippingAddresses),
        )?;
        let shipping_id = parse_id(&input.shipping_id)?;
        let result = upstream(ctx)?
            .delete_shipping_address(&input.customer_id, shipping_id)
            .await;
        let customer = changed(ctx, result).await?;
        Ok(RemoveShippingAddressPayload {
            customer,
            removed_shipping_id: input.shipping_id,
        })
    }

    async fn set_primary_shipping_address(
        &self,
        ctx: &Context<'_>,
        input: SetPrimaryShippingAddressInput,
    ) -> Result<SetPrimaryShippingAddressPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::ManageShippingAddresses),
        )?;
        let shipping_id = parse_id(&input.shipping_id)?;
        let request = ShippingIdRequest {
            shipping_id,
            merchant_id: None,
        };
        let result = upstream(ctx)?
            .set_primary_shipping_address(&input.customer_id, &request)
            .await;
        let customer = changed(ctx, result).await?;
        let shipping_address = customer.shipping_address(shipping_id);
        Ok(SetPrimaryShippingAddressPayload {
            customer,
            shipping_address,
        })
    }
}

fn parse_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        gql(GatewayError::BadUserInput(format!(
            "shippingId '{}' is not a shipping id (digits)",
            id.as_str()
        )))
    })
}

async fn current_names(
    ctx: &Context<'_>,
    customer_id: &str,
    shipping_id: i64,
) -> Result<(String, String)> {
    let not_found = || {
        gql(GatewayError::NotFound(format!(
            "customer {customer_id} has no shipping address {shipping_id}"
        )))
    };
    let customer = loaders(ctx)?
        .customer(customer_id)
        .await
        .map_err(gql)?
        .map(Customer::new)
        .ok_or_else(not_found)?;
    let address = customer
        .shipping_address(shipping_id)
        .ok_or_else(not_found)?;
    Ok(address.names())
}
