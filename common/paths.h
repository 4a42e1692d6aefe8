/*
 * paths.h: where the programs look for their configuration, their
 * extractor and the web folder, worked out from a path alone.
 *
 * Pure: nothing here touches the file system, so every rule (which
 * files configuration discovery tries, what counts as inside a folder)
 * is table-tested.  config.c and checks_run.c do the looking.
 */
#ifndef PATHS_H
#define PATHS_H

#include <limits.h>
#include <stddef.h>

#define PATHS_MAX	PATH_MAX	/* every path buffer here */
#define PATHS_LIST_MAX	4		/* candidates in a paths_list */

/* How the configuration file was found. */
enum config_how {
	CONFIG_HOW_NONE,	/* none: defaults and the environment */
	CONFIG_HOW_ENV,		/* INTAKE_CONFIG */
	CONFIG_HOW_BESIDE,	/* intake.conf beside the program */
	CONFIG_HOW_HOME,	/* ../../intake/intake.conf from the program's
				   folder (public_html/api/ → ~/intake/) */
	CONFIG_HOW__MAX
};

struct paths_list {
	size_t	n;
	char	path[PATHS_LIST_MAX][PATHS_MAX];
};

/*
 * The folder of path: "/a/b/c" gives "/a/b", "/c" gives "/", "c" gives
 * ".", trailing slashes ignored.  0, or -1 when out is too small.
 */
int	paths_dirname(const char *path, char *out, size_t outsz);

/* The last component of path ("/a/b/" gives "b"); "" for "/". */
const char *paths_basename(const char *path, size_t *len);

/*
 * rel when it is absolute, else dir/rel.  0, or -1 when out is too
 * small (out is then "").
 */
int	paths_join(const char *dir, const char *rel, char *out,
	    size_t outsz);

/*
 * The configuration files discovery tries, in order, for the program at
 * exe (an absolute path, as /proc/self/exe gives it): <folder>/intake.conf
 * (CONFIG_HOW_BESIDE), then <folder>/../../intake/intake.conf with the
 * ".." resolved (CONFIG_HOW_HOME; left out when the folder is less than
 * two levels deep).  A relative or empty exe gives none.
 */
void	paths_config_candidates(const char *exe, struct paths_list *out);

/* The enum config_how of the i-th of paths_config_candidates. */
enum config_how paths_config_how(size_t i);

/* A few words on how: "from INTAKE_CONFIG", "beside the program", ... */
const char *paths_config_how_words(enum config_how how);

/*
 * The extractors the web program may start, in order: explicit (the
 * extractor setting) alone when set; else intake-extract in exe_dir,
 * then in the folder of config_file when that is another folder.
 */
void	paths_extractor_candidates(const char *explicit_path,
	    const char *exe_dir, const char *config_file,
	    struct paths_list *out);

/*
 * 1 when path is root or lies under it, comparing whole components
 * ("/a/bc" is not under "/a/b").  Both absolute and without "." or ".."
 * (as realpath gives them); trailing slashes ignored.
 */
int	paths_inside(const char *root, const char *path);

/* 1 when name (len bytes) is a usual web folder's: public_html, www,
   htdocs, httpdocs. */
int	paths_web_name(const char *name, size_t len);

/*
 * The web folder a program at folder dir most likely serves from, when
 * no DOCUMENT_ROOT says: dir, its parent or its grandparent, the nearest
 * with a web folder's name (public_html/api/ gives public_html).  1 with
 * it in out, 0 when none.
 */
int	paths_web_guess(const char *dir, char *out, size_t outsz);

/*
 * The web folders beside the folder dir (<parent of dir>/public_html and
 * the other names), for a program kept outside the web folder
 * (~/intake/ gives ~/public_html, ~/www, ...).
 */
void	paths_web_siblings(const char *dir, struct paths_list *out);

#endif
