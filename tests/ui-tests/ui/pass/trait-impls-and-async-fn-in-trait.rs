use instrument_metric::instrument_metric;

trait Provider {
    fn name(&self) -> &'static str;
    async fn send(&self, to: &str) -> Result<(), String>;

    #[instrument_metric]
    fn describe(&self) -> String {
        format!("provider {}", self.name())
    }
}

struct Twilio;

impl Provider for Twilio {
    #[instrument_metric(function = "Twilio::name")]
    fn name(&self) -> &'static str {
        "twilio"
    }

    #[instrument_metric(function = "Twilio::send")]
    async fn send(&self, to: &str) -> Result<(), String> {
        if to.is_empty() { Err("no recipient".to_owned()) } else { Ok(()) }
    }
}

struct Vonage;

#[instrument_metric]
impl Provider for Vonage {
    fn name(&self) -> &'static str {
        "vonage"
    }

    async fn send(&self, _to: &str) -> Result<(), String> {
        Ok(())
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    assert_eq!(Twilio.describe(), "provider twilio");
    assert_eq!(Vonage.name(), "vonage");
    let future = Twilio.send("+1");
    assert_send(&future);
    drop(future);
    assert!(instrument_metric::render().contains(r#"function="<Vonage as Provider>::name""#));
}
