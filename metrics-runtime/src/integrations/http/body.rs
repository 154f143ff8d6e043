//! Body byte counting (`body_sizes`): a body wrapped so that its data bytes are counted as
//! they pass and observed once, when the body is dropped, done or abandoned part way.

use std::pin::Pin;
use std::task::{Context, Poll};

use ::axum::body::{Bytes, HttpBody};
use http_body::{Frame, SizeHint};

use crate::storage::cells::HistogramCells;

pin_project_lite::pin_project! {
    /// A body that counts its data bytes and observes the total into a size histogram once,
    /// when it is dropped (done, or abandoned part way).
    pub(super) struct Counted<B> {
        #[pin]
        inner: B,
        size: Size,
    }
}

/// The bytes of a body so far, observed when the body is dropped.
struct Size {
    bytes: u64,
    sizes: &'static HistogramCells,
}

impl Drop for Size {
    fn drop(&mut self) {
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 bytes
        self.sizes.observe(0, self.bytes as f64);
    }
}

impl<B> Counted<B> {
    pub(super) fn new(inner: B, sizes: &'static HistogramCells) -> Self {
        Counted {
            inner,
            size: Size { bytes: 0, sizes },
        }
    }
}

impl<B: HttpBody<Data = Bytes>> HttpBody for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.size.bytes += data.len() as u64;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use http_body_util::BodyExt as _;

    use super::*;

    /// A body of the given frames, in order: data, or an error.
    struct Frames(VecDeque<Result<&'static str, &'static str>>);

    impl HttpBody for Frames {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
            Poll::Ready(
                self.0.pop_front().map(|frame| {
                    frame.map(|data| Frame::data(Bytes::from_static(data.as_bytes())))
                }),
            )
        }
    }

    fn counted(
        frames: &[Result<&'static str, &'static str>],
    ) -> (Counted<Frames>, &'static HistogramCells) {
        let sizes: &'static HistogramCells =
            Box::leak(Box::new(HistogramCells::new(1, &[4.0, 16.0], None)));
        (
            Counted::new(Frames(frames.iter().copied().collect()), sizes),
            sizes,
        )
    }

    /// The observations of `sizes`: cumulative counts (`+Inf` last) and their sum.
    fn observed(sizes: &HistogramCells) -> (Vec<u64>, f64) {
        let mut cumulative = Vec::new();
        let sum = sizes.read(0, &mut cumulative);
        (cumulative, sum)
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_is_observed_once_when_dropped() {
        let (body, sizes) = counted(&[Ok("hello "), Ok("world")]);
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, "hello world");
        assert_eq!(observed(sizes), (vec![0, 1, 1], 11.0));
    }

    #[tokio::test]
    async fn a_body_dropped_part_way_counts_the_bytes_read() {
        let (mut body, sizes) = counted(&[Ok("abc"), Ok("0123456789"), Ok("never read")]);
        body.frame().await.unwrap().unwrap();
        assert_eq!(
            observed(sizes),
            (vec![0, 0, 0], 0.0),
            "nothing before the drop"
        );
        drop(body);
        assert_eq!(observed(sizes), (vec![1, 1, 1], 3.0));
    }

    #[tokio::test]
    async fn a_body_that_fails_counts_the_bytes_before_the_error() {
        let (mut body, sizes) = counted(&[Ok("0123456789"), Err("reset"), Ok("after")]);
        body.frame().await.unwrap().unwrap();
        assert_eq!(body.frame().await.unwrap().unwrap_err(), "reset");
        drop(body);
        assert_eq!(observed(sizes), (vec![0, 1, 1], 10.0));
    }
}
