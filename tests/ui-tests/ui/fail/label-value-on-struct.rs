use metrics_runtime::LabelValue;

#[derive(LabelValue)]
struct Provider {
    name: String,
}

fn main() {}
