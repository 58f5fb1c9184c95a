//! One call into the `gemm` crate (the matrix kernel burn's CPU backend uses too),
//! with strides in elements and no threading of its own: the kernels parallelise
//! over images, and each image's product runs on one thread.

/// A strided view of an `rows x cols` f32 matrix: element `(r, c)` is at
/// `r * row_stride + c * col_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A dense row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transpose of this view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn last_index(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
    }
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` when `accumulate`), `dst` dense row-major
/// `lhs.rows x rhs.cols`.
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice.
#[allow(unsafe_code)] // gemm's API is raw pointers; the bounds are checked first
pub(crate) fn matmul(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    assert!(dst.len() >= m * n, "matmul: destination too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    assert!(lhs.last_index() < lhs.data.len() && rhs.last_index() < rhs.data.len(), "matmul: view out of bounds");
    // SAFETY: every index the product touches was checked above: dst is m x n dense
    // row-major, lhs and rhs are within their slices; the slices do not alias (dst
    // is borrowed mutably, the inputs immutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(lhs: MatRef<'_>, rhs: MatRef<'_>) -> Vec<f32> {
        let mut out = vec![0.0; lhs.rows * rhs.cols];
        for i in 0..lhs.rows {
            for j in 0..rhs.cols {
                let mut s = 0.0;
                for p in 0..lhs.cols {
                    s += lhs.data[i * lhs.row_stride + p * lhs.col_stride]
                        * rhs.data[p * rhs.row_stride + j * rhs.col_stride];
                }
                out[i * rhs.cols + j] = s;
            }
        }
        out
    }

    #[test]
    fn strided_products_match_the_definition() {
        let a: Vec<f32> = (0..35).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..35).map(|i| (i as f32 * 0.11).cos()).collect();
        let lhs = MatRef::row_major(&a, 5, 7);
        let rhs = MatRef::row_major(&b, 7, 5);
        for (l, r) in [(lhs, rhs), (rhs.t(), lhs.t()), (lhs, lhs.t()), (rhs.t(), rhs)] {
            let want = naive(l, r);
            let mut got = vec![1.0; want.len()];
            matmul(&mut got, l, r, false);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
            matmul(&mut got, l, r, true);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - 2.0 * w).abs() < 1e-5, "accumulate: {g} vs {}", 2.0 * w);
            }
        }
    }
}
