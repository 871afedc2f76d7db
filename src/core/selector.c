/* selector.c - the Calico selector language: a recursive-descent parser that
 * builds a small tree, and an evaluator that walks it against a label set.
 *
 * Grammar (&& binds tighter than ||; whitespace is free between tokens):
 *
 *   or      := and ( '||' and )*
 *   and     := unary ( '&&' unary )*
 *   unary   := '!' unary | primary
 *   primary := '(' or ')' | 'all' '(' ')' | 'has' '(' key ')' | key test
 *   test    := '==' str | '!=' str | 'in' set | 'not' 'in' set
 *            | 'contains' str | 'starts' 'with' str | 'ends' 'with' str
 *   set     := '{' [ str ( ',' str )* ] '}'
 *   key     := [A-Za-z0-9._/-]+
 *   str     := '...' | "..."        (no escapes, as in Calico)
 *
 * Absent labels: `!=` and `not in` are true, every other test is false.
 *
 * && and || chains become one n-ary node each, so the depth of the tree (and
 * of the recursion that parses, evaluates and frees it) is bounded by the
 * nesting of '(' and '!', which is capped at SELECTOR_MAX_DEPTH: hostile input
 * cannot exhaust the stack. */
#include "core/selector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECTOR_MAX_DEPTH 64

/* How much of a token an error message quotes before eliding the rest. */
#define QUOTE_MAX 32

enum sel_op {
	SEL_ALL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_IN,
	SEL_NOT_IN,
	SEL_CONTAINS,
	SEL_STARTS_WITH,
	SEL_ENDS_WITH,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

/* One node of the parse tree; the root is what selector_parse() returns.
 * Every pointer is owned by the node and released by selector_free(). */
struct selector {
	enum sel_op op;
	char *key;     /* tests and has() */
	char **values; /* ==, != and the string tests: one; in, not in: the set */
	size_t nvalues;
	struct selector **kids; /* !: one; &&, ||: two or more */
	size_t nkids;
};

/* ---- tokens ---------------------------------------------------------------- */

enum tok_type {
	TOK_EOF,
	TOK_WORD,   /* a label key, or a keyword such as in, has, starts */
	TOK_STRING, /* quoted; the quotes are part of the token text */
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_COMMA,
	TOK_EQ,
	TOK_NE,
	TOK_NOT,
	TOK_AND,
	TOK_OR,
	TOK_BAD, /* a character that starts no token */
};

struct token {
	enum tok_type type;
	const char *start;
	size_t len;
	size_t column; /* 1-based */
};

struct parser {
	const char *text;
	const char *pos;  /* first character not yet tokenized */
	struct token tok; /* the lookahead */
	int depth;
	struct herr *err;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Label keys as Calico accepts them: prefixed Kubernetes keys and more. */
static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/' || c == '-' || c == '_';
}

static bool tok_is_word(const struct token *t, const char *word)
{
	return t->type == TOK_WORD && t->len == strlen(word) && !memcmp(t->start, word, t->len);
}

/* Describe the token for "found ..." in an error message. */
static void describe(const struct token *t, char *buf, size_t size)
{
	int n = t->len > QUOTE_MAX ? QUOTE_MAX : (int)t->len;
	const char *more = t->len > QUOTE_MAX ? "..." : "";
	unsigned char c = (unsigned char)t->start[0];

	switch (t->type) {
	case TOK_EOF:
		snprintf(buf, size, "end of input");
		break;
	case TOK_WORD:
		snprintf(buf, size, "\"%.*s%s\"", n, t->start, more);
		break;
	case TOK_STRING:
		snprintf(buf, size, "string %.*s%s", n, t->start, more);
		break;
	case TOK_BAD:
		if (c >= 0x20 && c < 0x7f)
			snprintf(buf, size, "'%c'", c);
		else
			snprintf(buf, size, "byte 0x%02x", c);
		break;
	default: /* punctuation and operators: quote them as written */
		snprintf(buf, size, "'%.*s'", n, t->start);
		break;
	}
}

/* The one error format: where, what the grammar wanted, what it got. */
static int expected(struct parser *p, const char *what)
{
	char found[QUOTE_MAX + 16];

	describe(&p->tok, found, sizeof(found));
	return herr_set(p->err, -EINVAL, "column %zu: expected %s, found %s", p->tok.column, what,
	                found);
}

/* Move the lookahead to the next token. The only lexical error that cannot
 * wait for the parser to see the token is a string that never ends. */
static int advance(struct parser *p)
{
	const char *s = p->pos;
	struct token *t = &p->tok;

	while (is_space(*s))
		s++;
	t->start = s;
	t->column = (size_t)(s - p->text) + 1;
	t->len = 1;
	switch (*s) {
	case '\0':
		t->type = TOK_EOF;
		t->len = 0;
		break;
	case '(':
		t->type = TOK_LPAREN;
		break;
	case ')':
		t->type = TOK_RPAREN;
		break;
	case '{':
		t->type = TOK_LBRACE;
		break;
	case '}':
		t->type = TOK_RBRACE;
		break;
	case ',':
		t->type = TOK_COMMA;
		break;
	case '=':
		t->type = s[1] == '=' ? TOK_EQ : TOK_BAD;
		break;
	case '!':
		t->type = s[1] == '=' ? TOK_NE : TOK_NOT;
		break;
	case '&':
		t->type = s[1] == '&' ? TOK_AND : TOK_BAD;
		break;
	case '|':
		t->type = s[1] == '|' ? TOK_OR : TOK_BAD;
		break;
	case '\'':
	case '"': {
		const char *end = strchr(s + 1, *s);
		/* Reported at the opening quote: that is the string to fix. */
		if (!end)
			return herr_set(
			    p->err, -EINVAL,
			    "column %zu: expected %c to close the string, found end of input",
			    t->column, *s);
		t->type = TOK_STRING;
		t->len = (size_t)(end - s) + 1;
		break;
	}
	default:
		if (is_word_char(*s)) {
			t->type = TOK_WORD;
			t->len = 0;
			while (is_word_char(s[t->len]))
				t->len++;
		} else {
			t->type = TOK_BAD;
		}
		break;
	}
	if (t->type == TOK_EQ || t->type == TOK_NE || t->type == TOK_AND || t->type == TOK_OR)
		t->len = 2;
	p->pos = s + t->len;
	return 0;
}

/* ---- tree ------------------------------------------------------------------ */

void selector_free(struct selector *s)
{
	if (!s)
		return;
	free(s->key);
	for (size_t i = 0; i < s->nvalues; i++)
		free(s->values[i]);
	free(s->values);
	for (size_t i = 0; i < s->nkids; i++)
		selector_free(s->kids[i]);
	free(s->kids);
	free(s);
}

static int no_memory(struct parser *p)
{
	return herr_set(p->err, -ENOMEM, "selector: out of memory");
}

static struct selector *node_new(struct parser *p, enum sel_op op)
{
	struct selector *n = calloc(1, sizeof(*n));

	if (!n)
		no_memory(p);
	else
		n->op = op;
	return n;
}

static int node_add_kid(struct parser *p, struct selector *n, struct selector *kid)
{
	struct selector **v = realloc(n->kids, (n->nkids + 1) * sizeof(*v));

	if (!v)
		return no_memory(p);
	n->kids = v;
	n->kids[n->nkids++] = kid;
	return 0;
}

/* Append the current string token (without its quotes) to n->values. */
static int node_add_value(struct parser *p, struct selector *n)
{
	char **v = realloc(n->values, (n->nvalues + 1) * sizeof(*v));

	if (!v)
		return no_memory(p);
	n->values = v;
	n->values[n->nvalues] = strndup(p->tok.start + 1, p->tok.len - 2);
	if (!n->values[n->nvalues])
		return no_memory(p);
	n->nvalues++;
	return 0;
}

/* ---- parser ---------------------------------------------------------------- */

static int parse_or(struct parser *p, struct selector **out);

/* A '(' or '!' one level deeper; refused past the cap. */
static int enter(struct parser *p)
{
	char what[64];

	if (p->depth >= SELECTOR_MAX_DEPTH) {
		snprintf(what, sizeof(what), "at most %d nested '(' and '!'", SELECTOR_MAX_DEPTH);
		return expected(p, what);
	}
	p->depth++;
	return 0;
}

static int expect(struct parser *p, enum tok_type type, const char *what)
{
	if (p->tok.type != type)
		return expected(p, what);
	return advance(p);
}

/* '{' [ str ( ',' str )* ] '}' into n->values. An empty set is valid. */
static int parse_set(struct parser *p, struct selector *n)
{
	int rc = expect(p, TOK_LBRACE, "'{'");

	if (rc < 0)
		return rc;
	if (p->tok.type == TOK_RBRACE)
		return advance(p);
	for (;;) {
		if (p->tok.type != TOK_STRING)
			return expected(p,
			                n->nvalues ? "a quoted string" : "a quoted string or '}'");
		if ((rc = node_add_value(p, n)) < 0 || (rc = advance(p)) < 0)
			return rc;
		if (p->tok.type == TOK_RBRACE)
			return advance(p);
		if (p->tok.type != TOK_COMMA)
			return expected(p, "',' or '}'");
		if ((rc = advance(p)) < 0)
			return rc;
	}
}

/* Operators spelled as words, some as two: `not in`, `starts with`. */
static const struct {
	const char *first, *second; /* second NULL for one-word operators */
	enum sel_op op;
} word_ops[] = {
    {"in", NULL, SEL_IN},
    {"not", "in", SEL_NOT_IN},
    {"contains", NULL, SEL_CONTAINS},
    {"starts", "with", SEL_STARTS_WITH},
    {"ends", "with", SEL_ENDS_WITH},
};

/* The test after a key: the operator and its operand. */
static int parse_test(struct parser *p, struct selector *n)
{
	const char *second = NULL;
	int rc;

	if (p->tok.type == TOK_EQ) {
		n->op = SEL_EQ;
	} else if (p->tok.type == TOK_NE) {
		n->op = SEL_NE;
	} else {
		size_t i = 0;
		while (i < sizeof(word_ops) / sizeof(word_ops[0]) &&
		       !tok_is_word(&p->tok, word_ops[i].first))
			i++;
		if (i == sizeof(word_ops) / sizeof(word_ops[0]))
			return expected(p, "an operator (==, !=, in, not in, contains, "
			                   "starts with, ends with)");
		n->op = word_ops[i].op;
		second = word_ops[i].second;
	}
	if ((rc = advance(p)) < 0)
		return rc;
	if (second) {
		if (!tok_is_word(&p->tok, second)) {
			char what[16];
			snprintf(what, sizeof(what), "'%s'", second);
			return expected(p, what);
		}
		if ((rc = advance(p)) < 0)
			return rc;
	}
	if (n->op == SEL_IN || n->op == SEL_NOT_IN)
		return parse_set(p, n);
	if (p->tok.type != TOK_STRING)
		return expected(p, "a quoted string");
	if ((rc = node_add_value(p, n)) < 0)
		return rc;
	return advance(p);
}

/* Is the lookahead the word `name` followed by '('? Then it is a function;
 * otherwise the same word is an ordinary label key. */
static bool at_function(struct parser *p, const char *name)
{
	const char *s = p->pos;

	if (!tok_is_word(&p->tok, name))
		return false;
	while (is_space(*s))
		s++;
	return *s == '(';
}

static int parse_primary(struct parser *p, struct selector **out)
{
	struct selector *n;
	int rc;

	*out = NULL;
	if (p->tok.type == TOK_LPAREN) {
		if ((rc = enter(p)) < 0 || (rc = advance(p)) < 0 || (rc = parse_or(p, out)) < 0)
			return rc;
		p->depth--;
		return expect(p, TOK_RPAREN, "')'");
	}
	if (p->tok.type != TOK_WORD)
		return expected(p, "a label key, has(), all(), '!' or '('");
	bool is_all = at_function(p, "all"), is_has = at_function(p, "has");
	/* A plain key's op is set by parse_test(). */
	n = node_new(p, is_all ? SEL_ALL : SEL_HAS);
	if (!n)
		return -ENOMEM;
	*out = n;
	if (is_all || is_has) {
		/* The word, then the '(' at_function() saw. */
		if ((rc = advance(p)) < 0 || (rc = advance(p)) < 0)
			return rc;
		if (is_has) {
			if (p->tok.type != TOK_WORD)
				return expected(p, "a label key");
			n->key = strndup(p->tok.start, p->tok.len);
			if (!n->key)
				return no_memory(p);
			if ((rc = advance(p)) < 0)
				return rc;
		}
		return expect(p, TOK_RPAREN, "')'");
	}
	n->key = strndup(p->tok.start, p->tok.len);
	if (!n->key)
		return no_memory(p);
	if ((rc = advance(p)) < 0)
		return rc;
	return parse_test(p, n);
}

static int parse_unary(struct parser *p, struct selector **out)
{
	struct selector *n, *kid = NULL;
	int rc;

	if (p->tok.type != TOK_NOT)
		return parse_primary(p, out);
	*out = NULL;
	if ((rc = enter(p)) < 0 || (rc = advance(p)) < 0)
		return rc;
	if (!(n = node_new(p, SEL_NOT)))
		return -ENOMEM;
	*out = n;
	rc = parse_unary(p, &kid);
	/* Attach even a partial kid so that the caller frees everything. */
	if (kid && node_add_kid(p, n, kid) < 0) {
		selector_free(kid);
		return -ENOMEM;
	}
	if (rc < 0)
		return rc;
	p->depth--;
	return 0;
}

/* One level of a binary operator: operand ( op operand )*, as one n-ary node. */
static int parse_chain(struct parser *p, enum tok_type op_tok, enum sel_op op,
                       int (*operand)(struct parser *, struct selector **), struct selector **out)
{
	struct selector *first = NULL, *n = NULL, *kid;
	int rc = operand(p, &first);

	*out = first;
	if (rc < 0 || p->tok.type != op_tok)
		return rc;
	if (!(n = node_new(p, op)) || node_add_kid(p, n, first) < 0) {
		free(n);
		return -ENOMEM;
	}
	*out = n;
	while (p->tok.type == op_tok) {
		if ((rc = advance(p)) < 0)
			return rc;
		kid = NULL;
		rc = operand(p, &kid);
		if (kid && node_add_kid(p, n, kid) < 0) {
			selector_free(kid);
			return -ENOMEM;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_and(struct parser *p, struct selector **out)
{
	return parse_chain(p, TOK_AND, SEL_AND, parse_unary, out);
}

static int parse_or(struct parser *p, struct selector **out)
{
	return parse_chain(p, TOK_OR, SEL_OR, parse_and, out);
}

int selector_parse(const char *text, struct selector **out, struct herr *err)
{
	struct parser p = {.text = text, .pos = text, .err = err};
	struct selector *root = NULL;
	int rc;

	*out = NULL;
	if (!text)
		return herr_set(err, -EINVAL, "selector: no text (NULL)");
	/* Say so plainly: an empty selector is more often a missing field than a
	 * wish to match nothing (all() matches everything, !all() nothing). */
	if (!text[strspn(text, " \t\n\r\f\v")])
		return herr_set(err, -EINVAL,
		                "column 1: expected a selector expression, found end of input "
		                "(the selector is empty)");
	rc = advance(&p);
	if (rc == 0)
		rc = parse_or(&p, &root);
	if (rc == 0 && p.tok.type != TOK_EOF)
		rc = expected(&p, "'&&', '||' or end of input");
	if (rc < 0) {
		selector_free(root);
		return rc;
	}
	*out = root;
	return 0;
}

/* ---- evaluation ------------------------------------------------------------ */

static bool in_set(const struct selector *s, const char *value)
{
	for (size_t i = 0; i < s->nvalues; i++)
		if (!strcmp(s->values[i], value))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

bool selector_match(const struct selector *s, const struct labels *labels)
{
	const char *v = s->key ? labels_get(labels, s->key) : NULL;

	switch (s->op) {
	case SEL_ALL:
		return true;
	case SEL_HAS:
		return v != NULL;
	case SEL_EQ:
		return v && !strcmp(v, s->values[0]);
	case SEL_NE:
		return !v || strcmp(v, s->values[0]);
	case SEL_IN:
		return v && in_set(s, v);
	case SEL_NOT_IN:
		return !v || !in_set(s, v);
	case SEL_CONTAINS:
		return v && strstr(v, s->values[0]);
	case SEL_STARTS_WITH:
		return v && !strncmp(v, s->values[0], strlen(s->values[0]));
	case SEL_ENDS_WITH:
		return v && ends_with(v, s->values[0]);
	case SEL_NOT:
		return !selector_match(s->kids[0], labels);
	case SEL_AND:
		for (size_t i = 0; i < s->nkids; i++)
			if (!selector_match(s->kids[i], labels))
				return false;
		return true;
	case SEL_OR:
		for (size_t i = 0; i < s->nkids; i++)
			if (selector_match(s->kids[i], labels))
				return true;
		return false;
	}
	return false;
}

bool selector_required_eq(const struct selector *s, const char **key, const char **value)
{
	if (!s)
		return false;
	if (s->op == SEL_EQ) {
		*key = s->key;
		*value = s->values[0];
		return true;
	}
	if (s->op != SEL_AND)
		return false;
	for (size_t i = s->nkids; i-- > 0;)
		if (selector_required_eq(s->kids[i], key, value))
			return true;
	return false;
}
