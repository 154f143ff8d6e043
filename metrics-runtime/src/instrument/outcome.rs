//! The `result` of a returned value: how `#[instrument_metric]` tells `ok` from `error`
//! without an `ok_if`/`error_if` predicate.
//!
//! A returned value is split into its `Ok` side (a value that is not a `Result` is all `Ok`
//! side) and its `Err` side, and each side is classified by what its type is:
//!
//! - a response-shaped value (feature `axum`: a `StatusCode`, an `http::Response<B>`, its
//!   `Parts`, or a tuple starting with a `StatusCode` such as `(StatusCode, String)`), on
//!   either side, by its status: `error` for a server error (5xx), `ok` otherwise (a 4xx is
//!   the client's mistake, answered as it should be);
//! - an `Err` whose type derives [`ErrorKinds`](crate::ErrorKinds), by the class of its kind:
//!   `ok` for a kind marked `#[error_kind(ok)]`, `error` otherwise;
//! - any other `Err`: `error`; any other `Ok` side: `ok`.
//!
//! The split and the classification are picked by method resolution on the concrete type at
//! the call site (autoref specialisation), so they cost nothing at run time beyond reading the
//! status or the kind. A method taking `&self` called on `&P` is looked up first among impls
//! for `P`, then for `&P`, then (dereferencing a `&&P` receiver) for `P`: so on a `&P`
//! receiver the impl for `P` wins over the one for `&P`, and on a `&&P` receiver the impl for
//! `&P` wins over the one for `&&P`, which wins over the one for `P`.

use std::convert::Infallible;

use crate::model::Outcome;
use crate::model::labels::ErrorKinds;

/// `error` for a server error (5xx), `ok` for any other status.
#[inline]
#[must_use]
pub(crate) const fn status_outcome(status: u16) -> Outcome {
    Outcome::ok_if(!(status >= 500 && status < 600))
}

/// A value that carries an HTTP status: an instrumented function that returns it, or a
/// `Result` with it on either side, records `error` for a server error (5xx) and `ok` for any
/// other status (a 4xx is the client's mistake, answered as it should be).
///
/// With feature `axum` it is implemented for `StatusCode`, `http::Response<B>` (axum's
/// `Response`), `http::response::Parts`, `Box`es of these and tuples starting with one
/// (`(StatusCode, String)`, `(StatusCode, HeaderMap, Json<T>)`), as axum answers them.
/// Implement it for an error type of your own that holds its status, and a handler returning
/// `Result<Json<T>, ApiError>` counts its 4xx answers as `ok`:
///
/// ```
/// use instrument_metric::{Outcome, ResponseStatus, instrument_metric, testing};
///
/// #[derive(Debug)]
/// struct ApiError {
///     status: u16,
///     message: String,
/// }
///
/// impl ResponseStatus for ApiError {
///     fn status_code(&self) -> u16 {
///         self.status
///     }
/// }
///
/// #[instrument_metric(name = "api_orders")]
/// fn order(id: u32) -> Result<u32, ApiError> {
///     match id {
///         0 => Err(ApiError { status: 404, message: "no such order".into() }),
///         1 => Err(ApiError { status: 503, message: "database down".into() }),
///         _ => Ok(id),
///     }
/// }
///
/// fn main() {
///     let ((), captured) = testing::capture(|| {
///         let _ = order(0);
///         let _ = order(1);
///         let _ = order(2);
///     });
///     assert_eq!(captured.outcomes("order", Outcome::Ok), 2);
///     assert_eq!(captured.outcomes("order", Outcome::Error), 1);
/// }
/// ```
pub trait ResponseStatus {
    /// The status code, such as 404.
    fn status_code(&self) -> u16;
}

#[cfg(feature = "axum")]
mod http_shapes {
    use super::ResponseStatus;
    use ::axum::http::{Response, StatusCode, response::Parts};

    impl ResponseStatus for StatusCode {
        #[inline]
        fn status_code(&self) -> u16 {
            self.as_u16()
        }
    }

    impl<B> ResponseStatus for Response<B> {
        #[inline]
        fn status_code(&self) -> u16 {
            self.status().as_u16()
        }
    }

    impl ResponseStatus for Parts {
        #[inline]
        fn status_code(&self) -> u16 {
            self.status.as_u16()
        }
    }

    impl<T: ResponseStatus + ?Sized> ResponseStatus for Box<T> {
        #[inline]
        fn status_code(&self) -> u16 {
            (**self).status_code()
        }
    }

    /// axum answers a tuple whose first element is a `StatusCode` (or `Parts`, or a
    /// `Response<()>`) with that status, whatever the rest adds (headers, extensions, body).
    macro_rules! status_tuples {
        ($(($($rest:ident),+)),+ $(,)?) => {$(
            impl<S: ResponseStatus, $($rest),+> ResponseStatus for (S, $($rest),+) {
                #[inline]
                fn status_code(&self) -> u16 {
                    self.0.status_code()
                }
            }
        )+};
    }

    status_tuples!(
        (A),
        (A, B),
        (A, B, C),
        (A, B, C, D),
        (A, B, C, D, E),
        (A, B, C, D, E, F),
    );
}

/// One side of a returned value.
pub enum Returned<'a, T, E> {
    /// A value that is not a `Result`, or the value of an `Ok`.
    Ok(&'a T),
    /// The value of an `Err`.
    Err(&'a E),
}

/// Wraps a reference to a returned value for [`SplitResult`] and [`SplitAny`].
pub struct ReturnProbe<'a, T>(pub &'a T);

/// Splits a `Result` into its sides.
pub trait SplitResult<'a> {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// The side the value is on.
    fn metrics_split(&self) -> Returned<'a, Self::Ok, Self::Err>;
}

impl<'a, T, E> SplitResult<'a> for ReturnProbe<'a, Result<T, E>> {
    type Ok = T;
    type Err = E;

    #[inline]
    fn metrics_split(&self) -> Returned<'a, T, E> {
        match self.0 {
            Ok(value) => Returned::Ok(value),
            Err(error) => Returned::Err(error),
        }
    }
}

/// A value that is not a `Result`: all of it is the `Ok` side.
pub trait SplitAny<'a> {
    /// The value's type.
    type Ok;
    /// The side the value is on: always `Ok`.
    fn metrics_split(&self) -> Returned<'a, Self::Ok, Infallible>;
}

impl<'a, T> SplitAny<'a> for &ReturnProbe<'a, T> {
    type Ok = T;

    #[inline]
    fn metrics_split(&self) -> Returned<'a, T, Infallible> {
        Returned::Ok(self.0)
    }
}

/// Wraps the `Ok` side for [`OkStatus`] and [`OkAny`].
pub struct OkProbe<'a, T>(pub &'a T);

/// A response-shaped `Ok` side: by its status.
pub trait OkStatus {
    /// The outcome of the probed value.
    fn metrics_outcome(&self) -> Outcome;
}

impl<T: ResponseStatus> OkStatus for OkProbe<'_, T> {
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        status_outcome(self.0.status_code())
    }
}

/// Any other `Ok` side: `ok`.
pub trait OkAny {
    /// The outcome of the probed value.
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        Outcome::Ok
    }
}

impl<T> OkAny for &OkProbe<'_, T> {}

/// Wraps the `Err` side for [`ErrStatus`], [`ErrClass`] and [`ErrAny`].
pub struct ErrProbe<'a, E>(pub &'a E);

/// A response-shaped `Err`: by its status.
pub trait ErrStatus {
    /// The outcome of the probed error.
    fn metrics_outcome(&self) -> Outcome;
}

impl<E: ResponseStatus> ErrStatus for &ErrProbe<'_, E> {
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        status_outcome(self.0.status_code())
    }
}

/// An `Err` whose type lists its kinds: by the class of its kind.
pub trait ErrClass {
    /// The outcome of the probed error.
    fn metrics_outcome(&self) -> Outcome;
}

impl<E: ErrorKinds> ErrClass for &&ErrProbe<'_, E> {
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        Outcome::ok_if(self.0.is_ok_kind())
    }
}

/// Any other `Err`: `error`.
pub trait ErrAny {
    /// The outcome of the probed error.
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        Outcome::Error
    }
}

impl<E> ErrAny for ErrProbe<'_, E> {}

/// The outcome of the returned value `$value` (a reference), as the [module docs](self) say.
#[doc(hidden)]
#[macro_export]
macro_rules! __outcome_of {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            ErrAny as _, ErrClass as _, ErrStatus as _, OkAny as _, OkStatus as _, SplitAny as _,
            SplitResult as _,
        };
        match (&$crate::__private::ReturnProbe($value)).metrics_split() {
            $crate::__private::Returned::Ok(ok) => {
                (&$crate::__private::OkProbe(ok)).metrics_outcome()
            }
            $crate::__private::Returned::Err(err) => {
                (&&$crate::__private::ErrProbe(err)).metrics_outcome()
            }
        }
    }};
}

/// Calls the `ok_if` (`ok` true) or `error_if` (`ok` false) predicate on the returned value:
/// the closure's parameter type comes from this signature, so `ok_if = |found| found.is_some()`
/// needs no annotation. A predicate that panics makes the call `error` and its panic goes no
/// further: the caller still gets the value the function returned.
#[inline]
pub fn predicate<T: ?Sized, F: FnOnce(&T) -> bool>(predicate: F, value: &T, ok: bool) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| predicate(value))) {
        Ok(answer) => Outcome::ok_if(answer == ok),
        Err(_) => Outcome::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_errors_are_errors() {
        assert_eq!(status_outcome(200), Outcome::Ok);
        assert_eq!(status_outcome(404), Outcome::Ok);
        assert_eq!(status_outcome(499), Outcome::Ok);
        assert_eq!(status_outcome(500), Outcome::Error);
        assert_eq!(status_outcome(599), Outcome::Error);
        assert_eq!(status_outcome(600), Outcome::Ok);
    }

    #[test]
    fn a_panicking_predicate_is_an_error() {
        assert_eq!(predicate(|v: &i32| *v > 0, &1, true), Outcome::Ok);
        assert_eq!(predicate(|v: &i32| *v > 0, &1, false), Outcome::Error);
        assert_eq!(
            predicate(|_: &i32| -> bool { panic!("predicate") }, &1, true),
            Outcome::Error
        );
    }
}
