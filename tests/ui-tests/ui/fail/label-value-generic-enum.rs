use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Choice<T> {
    First,
    Second,
    #[allow(dead_code)]
    Never(std::marker::PhantomData<T>),
}

fn main() {}
