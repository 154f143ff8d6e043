//! The `function` label of every shape of function, wherever the attribute sits: each
//! distinct function gets a series of its own, under the documented normal form (module paths
//! left out, `Type::method`, `<Type as Trait>::method`). `std::any::type_name`, which the name
//! comes from, is not a stable format: this test pins what every shape gives.
#![allow(clippy::unused_self, clippy::new_without_default)] // methods shaped like real ones

use std::fmt::Display;

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

mod repo {
    use instrument_metric::instrument_metric;

    pub struct UserRepo;
    pub struct OrderRepo;

    // The attribute on the methods (not on the `impl` blocks): the macro cannot see the type,
    // yet the two `get`s and the two `new`s are told apart.
    impl UserRepo {
        #[instrument_metric]
        pub fn new() -> Self {
            UserRepo
        }

        #[instrument_metric]
        pub fn get(&self, id: u32) -> Result<u32, String> {
            if id == 0 {
                Err("no user 0".to_owned())
            } else {
                Ok(id)
            }
        }
    }

    impl OrderRepo {
        #[instrument_metric]
        pub fn new() -> Self {
            OrderRepo
        }

        #[instrument_metric]
        pub fn get(&self, id: u32) -> Result<u32, String> {
            Ok(id * 10)
        }
    }

    /// Generic: one function for every `T`.
    pub struct Cache<T>(pub Vec<T>);

    impl<T: Clone> Cache<T> {
        #[instrument_metric]
        pub fn first(&self) -> Option<T> {
            self.0.first().cloned()
        }
    }

    impl Cache<u8> {
        #[instrument_metric]
        pub fn bytes(&self) -> usize {
            self.0.len()
        }
    }
}

mod a {
    pub struct Item;
}

mod b {
    pub struct Item;
}

// Two types named alike, their methods declared in one module: their normal forms would be
// equal (`Item::len`), so both keep their whole paths.
impl a::Item {
    #[instrument_metric]
    fn len(&self) -> usize {
        1
    }
}

impl b::Item {
    #[instrument_metric]
    fn len(&self) -> usize {
        2
    }
}

struct Celsius(f64);
struct Fahrenheit(f64);
struct Kelvin(f64);

impl From<Celsius> for Kelvin {
    #[instrument_metric]
    fn from(value: Celsius) -> Kelvin {
        Kelvin(value.0 + 273.15)
    }
}

impl From<Fahrenheit> for Kelvin {
    #[instrument_metric]
    fn from(value: Fahrenheit) -> Kelvin {
        Kelvin((value.0 - 32.0) / 1.8 + 273.15)
    }
}

trait Describe {
    fn describe(&self) -> String;
}

// A blanket implementation: one function for every `T`.
impl<T: Display> Describe for T {
    #[instrument_metric]
    fn describe(&self) -> String {
        format!("<{self}>")
    }
}

trait Named {
    /// A default method: one function, whatever the implementor.
    #[instrument_metric]
    fn name(&self) -> &'static str {
        "unnamed"
    }
}

impl Named for Celsius {}
impl Named for Fahrenheit {}

#[instrument_metric]
fn free(x: u32) -> u32 {
    x + 1
}

#[instrument_metric]
fn generic<T: Default>() -> T {
    T::default()
}

#[instrument_metric]
async fn asynchronous() -> u32 {
    tokio::task::yield_now().await;
    7
}

/// Every method of the block.
#[instrument_metric]
impl Kelvin {
    fn degrees(&self) -> f64 {
        self.0
    }

    async fn later(&self) -> f64 {
        tokio::task::yield_now().await;
        self.0
    }
}

#[async_trait::async_trait]
trait Store {
    async fn load(&self, key: u32) -> Result<u32, String>;
    async fn save(&self, key: u32) -> Result<(), String>;
}

// `#[async_trait]` outside: the methods' attribute sees them after the rewrite.
#[async_trait::async_trait]
impl Store for repo::UserRepo {
    #[instrument_metric]
    async fn load(&self, key: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        Ok(key)
    }

    #[instrument_metric]
    async fn save(&self, key: u32) -> Result<(), String> {
        if key == 0 {
            Err("key 0".to_owned())
        } else {
            Ok(())
        }
    }
}

// The attribute on the block, before `#[async_trait]`: it sees `async fn`s.
#[instrument_metric]
#[async_trait::async_trait]
impl Store for repo::OrderRepo {
    async fn load(&self, key: u32) -> Result<u32, String> {
        Ok(key)
    }

    async fn save(&self, _: u32) -> Result<(), String> {
        Ok(())
    }
}

// The attribute on the block, after `#[async_trait]`: it sees the rewritten methods.
#[async_trait::async_trait]
#[instrument_metric]
impl Store for Kelvin {
    async fn load(&self, key: u32) -> Result<u32, String> {
        Ok(key)
    }

    async fn save(&self, _: u32) -> Result<(), String> {
        Err("read-only".to_owned())
    }
}

fn calls(exposition: &Exposition, function: &str, module: &str, result: &str) -> u64 {
    exposition.count(
        "function_calls_total",
        &[
            ("function", function),
            ("module", module),
            ("result", result),
        ],
    )
}

#[tokio::test]
async fn every_function_has_its_own_series() {
    let users = repo::UserRepo::new();
    let orders = repo::OrderRepo::new();
    let _ = repo::OrderRepo::new();
    users.get(1).unwrap();
    users.get(0).unwrap_err();
    orders.get(1).unwrap();
    orders.get(2).unwrap();
    orders.get(3).unwrap();
    assert_eq!(repo::Cache(vec![1_u32]).first(), Some(1));
    assert_eq!(repo::Cache(vec!["x"]).first(), Some("x"));
    assert_eq!(repo::Cache(vec![1_u8, 2]).bytes(), 2);
    assert_eq!(a::Item.len() + b::Item.len() + b::Item.len(), 5);
    let _ = Kelvin::from(Celsius(1.0));
    let _ = Kelvin::from(Fahrenheit(1.0));
    let _ = Kelvin::from(Fahrenheit(2.0));
    assert_eq!(5.describe(), "<5>");
    assert_eq!("x".describe(), "<x>");
    assert_eq!(Celsius(0.0).name(), "unnamed");
    assert_eq!(Fahrenheit(0.0).name(), "unnamed");
    assert_eq!(free(1), 2);
    assert_eq!(generic::<u8>(), 0);
    assert_eq!(asynchronous().await, 7);
    assert!(Kelvin(1.0).degrees() > 0.0);
    assert!(Kelvin(1.0).later().await > 0.0);
    users.load(3).await.unwrap();
    users.save(0).await.unwrap_err();
    orders.load(3).await.unwrap();
    orders.save(3).await.unwrap();
    Kelvin(1.0).load(3).await.unwrap();
    Kelvin(1.0).save(3).await.unwrap_err();

    let exposition =
        Exposition::parse(&instrument_metric::render()).expect("the exposition parses");
    let here = "function_names";
    let in_repo = "function_names::repo";
    for (function, module, ok, error) in [
        ("UserRepo::new", in_repo, 1, 0),
        ("OrderRepo::new", in_repo, 2, 0),
        ("UserRepo::get", in_repo, 1, 1),
        ("OrderRepo::get", in_repo, 3, 0),
        ("Cache::first", in_repo, 2, 0),
        ("Cache<u8>::bytes", in_repo, 1, 0),
        ("function_names::a::Item::len", here, 1, 0),
        ("function_names::b::Item::len", here, 2, 0),
        ("<Kelvin as From<Celsius>>::from", here, 1, 0),
        ("<Kelvin as From<Fahrenheit>>::from", here, 2, 0),
        ("<_ as Describe>::describe", here, 2, 0),
        ("Named::name", here, 2, 0),
        ("free", here, 1, 0),
        ("generic", here, 1, 0),
        ("asynchronous", here, 1, 0),
        ("Kelvin::degrees", here, 1, 0),
        ("Kelvin::later", here, 1, 0),
        ("<UserRepo as Store>::load", here, 1, 0),
        ("<UserRepo as Store>::save", here, 0, 1),
        ("<OrderRepo as Store>::load", here, 1, 0),
        ("<OrderRepo as Store>::save", here, 1, 0),
        ("<Kelvin as Store>::load", here, 1, 0),
        ("<Kelvin as Store>::save", here, 0, 1),
    ] {
        assert_eq!(
            calls(&exposition, function, module, "ok"),
            ok,
            "{function} ok"
        );
        assert_eq!(
            calls(&exposition, function, module, "error"),
            error,
            "{function} error"
        );
    }
    let mut functions: Vec<&str> = exposition
        .series("function_calls_duration_seconds_count")
        .map(|sample| sample.labels["function"].as_str())
        .collect();
    let all = functions.len();
    functions.dedup();
    assert_eq!(functions.len(), all, "no two functions share a series");
    assert_eq!(all, 23);
    instrument_metric::check().expect("no conflict");
}
