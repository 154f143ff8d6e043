use std::sync::Arc;

use instrument_metric::instrument_metric;

struct Account {
    balance: i64,
}

impl Account {
    #[instrument_metric]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[instrument_metric]
    fn deposit(&mut self, amount: i64) -> Result<(), &'static str> {
        if amount <= 0 {
            return Err("amount must be positive");
        }
        self.balance += amount;
        Ok(())
    }

    #[instrument_metric]
    fn close(self) -> i64 {
        self.balance
    }

    #[instrument_metric]
    fn shared(self: Arc<Self>) -> i64 {
        self.balance
    }

    #[instrument_metric]
    async fn audit(&self) -> bool {
        self.balance >= 0
    }
}

#[instrument_metric(name = "ledger_ops")]
impl Account {
    fn new() -> Self {
        Account { balance: 0 }
    }

    fn double(&mut self) {
        self.balance *= 2;
    }
}

fn main() {
    let mut account = Account::new();
    account.deposit(5).unwrap();
    account.deposit(-1).unwrap_err();
    account.double();
    assert_eq!(account.balance(), 10);
    drop(account.audit());
    assert_eq!(Arc::new(Account { balance: 3 }).shared(), 3);
    assert_eq!(account.close(), 10);
    assert!(instrument_metric::render().contains(r#"function="Account::double""#));
}
