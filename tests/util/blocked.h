// blocked.h: reorders between plain (N,C,HW) and the blocked layout for the layer-kernel tests. The
// tests keep their own copy of the layout rule so that they do not depend on layout.c, the code under test
// elsewhere.
#ifndef SF_TEST_BLOCKED_H
#define SF_TEST_BLOCKED_H

// Returns a calloc'd blocked copy (N, C, HW) of plain src with channel block vb.
float *to_blocked(const float *src, int n, int c, int hw, int vb);
// Copies blocked src back to plain dst; returns the largest |value| found in a padding lane.
float to_plain(float *dst, const float *src, int n, int c, int hw, int vb);
// Path of the layer golden file "layers/<case>_<tensor>.npy" (static buffer).
char *gname(const char *c, const char *t);

#endif
