// test_data_dataset.c: scanning DIR/<class>/<files>: label order, file order, skipped entries (non-images
// by content, empty files, dangling symlinks, sub-folders), symlinked files and class folders, names with
// spaces and UTF-8, class folders whose names are not UTF-8, empty class folders, the flat unlabelled
// folder, and the real dataset when present.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data/dataset.h"
#include "data/image.h"

static char root[256], other[256];

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/sf_test_ds_XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    snprintf(other, sizeof other, "/tmp/sf_test_ds_other_XXXXXX");
    cr_assert_not_null(mkdtemp(other));
}

static void teardown(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, other);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(data_dataset, .init = setup, .fini = teardown);

// Criterion does not run .fini for a skipped test, so a skip removes the temporary folder itself.
#define skip_clean(...) \
    do { \
        teardown(); \
        cr_skip_test(__VA_ARGS__); \
    } while (0)

static const char *at(const char *base, const char *rel) {
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", base, rel);
    return buf[k];
}

static void jpeg(const char *path) {
    uint8_t px[8 * 8 * 3];
    memset(px, 90, sizeof px);
    sf_image img = {.px = px, .w = 8, .h = 8};
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(sf_image_write_jpeg(path, &img, 90, err, sizeof err), 0, "%s", err);
}

static void text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(s, f);
    fclose(f);
}

Test(data_dataset, layout_labels_and_skips) {
    mkdir(at(root, "a_class"), 0755);
    mkdir(at(root, "b class"), 0755);
    mkdir(at(root, "Z_upper"), 0755);
    mkdir(at(root, "\xc3\xa9mile"), 0755);  // "émile"
    mkdir(at(root, "empty_class"), 0755);
    mkdir(at(root, "only_bad"), 0755);
    mkdir(at(root, ".hidden"), 0755);
    jpeg(at(root, "b class/pic 2.jpg"));
    jpeg(at(root, "b class/\xc3\xbc.jpg"));  // "ü.jpg"
    text(at(root, "b class/notes.txt"), "not an image\n");
    text(at(root, "b class/page.jpg"), "<html><body>saved web page</body></html>\n");
    text(at(root, "b class/zero.jpg"), "");
    jpeg(at(root, "a_class/pic_0002.jpg"));
    jpeg(at(root, "a_class/pic_0001.jpg"));
    cr_assert_eq(symlink(at(root, "b class/pic 2.jpg"), at(root, "a_class/pic_0003.jpg")), 0);
    cr_assert_eq(symlink("/nonexistent/target.jpg", at(root, "a_class/dangling.jpg")), 0);
    mkdir(at(root, "a_class/sub"), 0755);
    jpeg(at(root, "Z_upper/x.jpg"));
    jpeg(at(root, "\xc3\xa9mile/e.jpg"));
    text(at(root, "only_bad/bad.jpg"), "garbage");
    jpeg(at(root, ".hidden/h.jpg"));
    jpeg(at(root, "a_class/.ds.jpg"));
    text(at(root, "stray.txt"), "a file in the root");
    jpeg(at(other, "l.jpg"));
    cr_assert_eq(symlink(other, at(root, "linked_class")), 0);

    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, root, 0, err, sizeof err), 0, "%s", err);
    // Bytewise order: upper case before lower case, UTF-8 after ASCII.
    const char *want[] = {"Z_upper", "a_class", "b class", "linked_class", "\xc3\xa9mile"};
    const int counts[] = {1, 3, 2, 1, 1};
    cr_assert_eq(ds.n_classes, 5, "got %d classes", ds.n_classes);
    for (int c = 0; c < 5; c++) {
        cr_assert_str_eq(ds.classes[c], want[c]);
        cr_assert_eq(ds.class_counts[c], counts[c], "class %s: %d", want[c], ds.class_counts[c]);
    }
    cr_assert_eq(ds.n, 8);
    // Files sorted within their class, labels follow the folders.
    cr_assert_str_eq(sf_dataset_basename(&ds, 1), "pic_0001.jpg");
    cr_assert_str_eq(sf_dataset_basename(&ds, 2), "pic_0002.jpg");
    cr_assert_str_eq(sf_dataset_basename(&ds, 3), "pic_0003.jpg");
    cr_assert_str_eq(sf_dataset_basename(&ds, 4), "pic 2.jpg");
    cr_assert_str_eq(sf_dataset_basename(&ds, 5), "\xc3\xbc.jpg");
    const int labels[] = {0, 1, 1, 1, 2, 2, 3, 4};
    for (int i = 0; i < 8; i++) cr_assert_eq(ds.labels[i], labels[i], "image %d (%s)", i, ds.paths[i]);
    // notes.txt, page.jpg, zero.jpg, dangling.jpg, sub/, only_bad/bad.jpg, class only_bad, class
    // empty_class, stray.txt.
    cr_log_info("%d images in %d classes, %d entries skipped", ds.n, ds.n_classes, ds.n_skipped);
    cr_assert_eq(ds.n_skipped, 9);
    cr_assert_eq(sf_dataset_class_index(&ds, "b class"), 2);
    cr_assert_eq(sf_dataset_class_index(&ds, "only_bad"), -1);
    sf_dataset_free(&ds);
}

Test(data_dataset, no_images_is_an_error) {
    mkdir(at(root, "empty"), 0755);
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, root, 1, err, sizeof err), -1);
    cr_log_info("%s", err);
    cr_assert(strstr(err, root) != NULL);
    cr_assert_eq(sf_dataset_scan(&ds, "/nonexistent/data", 1, err, sizeof err), -1);
    cr_assert(strstr(err, "No such file") != NULL, "%s", err);
}

Test(data_dataset, flat_folder_for_predict) {
    jpeg(at(root, "img10.jpg"));
    jpeg(at(root, "img2.jpg"));
    text(at(root, "readme.md"), "# no image");
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan_flat(&ds, root, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.n_classes, 0);
    cr_assert_str_eq(sf_dataset_basename(&ds, 0), "img10.jpg");
    cr_assert_eq(ds.labels[0], -1);
    cr_assert_eq(ds.n_skipped, 1);
    sf_dataset_free(&ds);
}

Test(data_dataset, unreadable_class_folder) {
    if (geteuid() == 0) skip_clean("running as root: permission bits do not stop reads");
    mkdir(at(root, "locked"), 0755);
    mkdir(at(root, "ok"), 0755);
    jpeg(at(root, "locked/a.jpg"));
    jpeg(at(root, "ok/a.jpg"));
    cr_assert_eq(chmod(at(root, "locked"), 0), 0);
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, root, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ds.n_classes, 1);
    chmod(at(root, "locked"), 0755);
    sf_dataset_free(&ds);
}

Test(data_dataset, class_name_not_utf8_is_skipped) {
    mkdir(at(root, "good"), 0755);
    mkdir(at(root, "caf\xe9"), 0755);  // Latin-1: JSON (checkpoint metadata, config.json) cannot hold it
    jpeg(at(root, "good/a.jpg"));
    jpeg(at(root, "caf\xe9/b.jpg"));
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, root, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ds.n_classes, 1);
    cr_assert_str_eq(ds.classes[0], "good");
    cr_assert_eq(ds.n, 1);
    cr_assert_eq(ds.n_skipped, 1);
    sf_dataset_free(&ds);
}

Test(data_dataset, real_simpsons_train) {
    const char *dir = "../shared/data/simpsons/train";
    if (access(dir, R_OK) != 0) skip_clean("%s absent", dir);
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, dir, 0, err, sizeof err), 0, "%s", err);
    cr_log_info("simpsons train: %d images, %d classes, %d skipped", ds.n, ds.n_classes, ds.n_skipped);
    cr_assert_eq(ds.n_classes, 42);
    cr_assert_str_eq(ds.classes[0], "abraham_grampa_simpson");
    int h = sf_dataset_class_index(&ds, "homer_simpson");
    cr_assert(h >= 0 && ds.class_counts[h] == 2246, "homer: %d", h >= 0 ? ds.class_counts[h] : -1);
    sf_dataset_free(&ds);
}
