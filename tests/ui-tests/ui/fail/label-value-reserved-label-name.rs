use metrics_runtime::LabelValue;

#[derive(LabelValue)]
#[label(name = "le")]
enum Bound {
    Low,
    High,
}

fn main() {}
