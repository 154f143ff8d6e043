use instrument_metric::instrument_metric;

#[instrument_metric]
fn count(items: &[u32]) -> u32 {
    let total: u32 = items.iter().sum();
    let label: &str = total;
    label.len() as u32
}

#[instrument_metric]
async fn fetch() -> Result<u32, String> {
    let value: u32 = "7";
    Ok(value)
}

fn main() {
    let _ = count(&[1]);
    let _ = fetch();
}
