// test_kern_layout.c: reorders between plain NCHW and blocked nChw{vb}c: exact round trips, the
// documented element address, and zeroed padding channels, for every vb the ISAs use.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"

Test(layout, round_trip_and_addressing) {
    static const int vbs[] = {1, 4, 8, 16};
    static const int shapes[][4] = {{1, 3, 5, 7}, {2, 16, 3, 4}, {3, 17, 2, 5}, {1, 40, 1, 1}, {2, 1, 6, 6}};
    for (int v = 0; v < 4; v++)
        for (int k = 0; k < 5; k++) {
            int vb = vbs[v], n = shapes[k][0], c = shapes[k][1], h = shapes[k][2], w = shapes[k][3];
            size_t plain_n = (size_t)n * c * h * w, blk_n = sf_blocked_floats(n, c, h, w, vb);
            float *x = malloc(plain_n * 4), *back = malloc(plain_n * 4), *blk = malloc(blk_n * 4);
            for (size_t i = 0; i < plain_n; i++) x[i] = (float)i + 1.0f;
            memset(blk, 0xff, blk_n * 4);  // NaN everywhere: every element must be written
            sf_reorder_to_blocked(blk, x, n, c, h, w, vb);
            int cb_n = sf_cblocks(c, vb);
            for (int in = 0; in < n; in++)
                for (int ch = 0; ch < cb_n * vb; ch++)
                    for (int p = 0; p < h * w; p++) {
                        float got = blk[(((size_t)in * cb_n + ch / vb) * h * w + p) * vb + ch % vb];
                        float want = ch < c ? x[((size_t)in * c + ch) * h * w + p] : 0.0f;
                        cr_assert_eq(got, want, "vb %d shape %d: (%d,%d,%d) holds %g, want %g", vb, k, in, ch, p,
                                     got, want);
                    }
            sf_reorder_to_plain(back, blk, n, c, h, w, vb);
            cr_assert(!memcmp(back, x, plain_n * 4), "vb %d shape %d: round trip changed the data", vb, k);
            free(x), free(back), free(blk);
        }
    cr_log_info("layout round trips exact for vb 1, 4, 8, 16");
}

// A blocked tensor moved to another channel block equals the plain tensor blocked there directly,
// padding channels included (the destination starts as NaN: every element must be written).
Test(layout, reblock_between_channel_blocks) {
    static const int pairs[][2] = {{8, 16}, {16, 8}, {4, 16}, {16, 4}, {8, 8}, {1, 8}};
    static const int shapes[][4] = {{1, 8, 5, 7}, {2, 3, 4, 4}, {3, 17, 2, 5}, {2, 16, 3, 1}};
    for (int q = 0; q < 6; q++)
        for (int k = 0; k < 4; k++) {
            int sv = pairs[q][0], dv = pairs[q][1], n = shapes[k][0], c = shapes[k][1], h = shapes[k][2], w = shapes[k][3];
            size_t plain_n = (size_t)n * c * h * w, s_n = sf_blocked_floats(n, c, h, w, sv), d_n = sf_blocked_floats(n, c, h, w, dv);
            float *x = malloc(plain_n * 4), *src = malloc(s_n * 4), *want = malloc(d_n * 4), *got = malloc(d_n * 4);
            for (size_t i = 0; i < plain_n; i++) x[i] = (float)i - 7.5f;
            sf_reorder_to_blocked(src, x, n, c, h, w, sv);
            sf_reorder_to_blocked(want, x, n, c, h, w, dv);
            memset(got, 0xff, d_n * 4);
            sf_reorder_reblock(got, dv, src, sv, n, c, h, w);
            cr_assert(!memcmp(got, want, d_n * 4), "vb %d -> %d, shape %d: differs from blocking directly", sv, dv, k);
            free(x), free(src), free(want), free(got);
        }
    cr_log_info("reblock exact between vb 1, 4, 8, 16");
}
