//! OAuth integrations with the providers (simulated on 127.0.0.1 by `providers`): connect,
//! token refresh, disconnect. Tokens expire; providers are sometimes unavailable or rate limit.

use instrument_metric::{ErrorKinds, LabelValue as _, instrument_metric};

use crate::db::{Database, DbError, now};
use crate::metrics::{OAuthErrorType, OAuthMetrics, OAuthProvider, RefreshResult};
use crate::providers::{Providers, TokenAnswer};

/// Lifetime of an access token, in seconds.
pub const TOKEN_LIFETIME_SECONDS: i64 = 60;

/// Why an OAuth operation failed: counted by kind in `oauth_operations_errors_total`
/// (`invalid_grant`, `expired_token`, `provider_unavailable`, `rate_limited`, `not_connected`,
/// `database`).
#[derive(Debug, ErrorKinds)]
pub enum OAuthError {
    /// The provider said no (or did not answer).
    #[error_kind(transparent)]
    Provider(OAuthErrorType),
    /// The user has no integration with this provider.
    NotConnected,
    /// The database failed.
    Database(DbError),
}

impl From<DbError> for OAuthError {
    fn from(error: DbError) -> Self {
        OAuthError::Database(error)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthError::Provider(kind) => write!(f, "the provider refused: {}", kind.as_label()),
            OAuthError::NotConnected => f.write_str("no integration with this provider"),
            OAuthError::Database(error) => error.fmt(f),
        }
    }
}

/// A provider round trip over HTTP: 30 to 250 ms; fails now and then.
async fn provider_call(
    providers: &Providers,
    provider: OAuthProvider,
    expired: bool,
) -> Result<String, OAuthErrorType> {
    match providers.token(provider, expired).await {
        TokenAnswer::Token(token) => Ok(token),
        TokenAnswer::Refused("expired_token") => Err(OAuthErrorType::ExpiredToken),
        TokenAnswer::Refused("rate_limited") => Err(OAuthErrorType::RateLimited),
        TokenAnswer::Refused(_) => Err(OAuthErrorType::InvalidGrant),
        TokenAnswer::Unavailable => Err(OAuthErrorType::ProviderUnavailable),
    }
}

fn record_error(provider: OAuthProvider, kind: OAuthErrorType) -> OAuthError {
    OAuthMetrics::global()
        .errors_total
        .with((provider, kind))
        .inc();
    OAuthError::Provider(kind)
}

/// Stores a token just issued by `provider`, valid for [`TOKEN_LIFETIME_SECONDS`].
async fn store_token(
    db: &Database,
    user_id: &str,
    provider: OAuthProvider,
    token: &str,
) -> Result<(), DbError> {
    db.upsert_integration(
        user_id,
        provider.as_label(),
        token,
        now() + TOKEN_LIFETIME_SECONDS,
    )
    .await
}

/// OAuth operations, each timed as `OAuth::<operation>` by provider.
pub struct OAuth;

#[instrument_metric(
    counter = "oauth_operations_total",
    histogram = "oauth_operation_duration_seconds",
    native_histogram,
    help = "OAuth operations, by provider.",
    labels(provider = provider),
    buckets = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5],
    error_kinds = OAuthError
)]
impl OAuth {
    /// Connects a user's account: the authorization-code exchange.
    pub async fn connect(
        providers: &Providers,
        db: &Database,
        user_id: &str,
        provider: OAuthProvider,
    ) -> Result<(), OAuthError> {
        let token = provider_call(providers, provider, false)
            .await
            .map_err(|kind| record_error(provider, kind))?;
        store_token(db, user_id, provider, &token).await?;
        Ok(())
    }

    /// Refreshes a user's token; an already expired one cannot be refreshed.
    pub async fn refresh(
        providers: &Providers,
        db: &Database,
        user_id: &str,
        provider: OAuthProvider,
    ) -> Result<(), OAuthError> {
        let metrics = OAuthMetrics::global();
        let Some(expires_at) = db.integration_expiry(user_id, provider.as_label()).await? else {
            return Err(OAuthError::NotConnected);
        };
        // Tokens a little past expiry are still refreshable; far past it they are not.
        let expired = expires_at + TOKEN_LIFETIME_SECONDS < now();
        match provider_call(providers, provider, expired).await {
            Ok(token) => {
                store_token(db, user_id, provider, &token).await?;
                metrics
                    .token_refresh_total
                    .with((provider, RefreshResult::Success))
                    .inc();
                Ok(())
            }
            Err(kind) => {
                metrics
                    .token_refresh_total
                    .with((provider, RefreshResult::Failure))
                    .inc();
                Err(record_error(provider, kind))
            }
        }
    }

    /// Disconnects a user's account.
    pub async fn disconnect(
        db: &Database,
        user_id: &str,
        provider: OAuthProvider,
    ) -> Result<(), OAuthError> {
        if db.delete_integration(user_id, provider.as_label()).await? {
            Ok(())
        } else {
            Err(OAuthError::NotConnected)
        }
    }
}
