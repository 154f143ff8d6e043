use metrics_runtime::LabelSet;

#[derive(LabelSet)]
struct RequestLabels {
    user_id: String,
}

fn main() {}
