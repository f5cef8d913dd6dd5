/* Intrusive doubly linked list, after libuv's queue.h: a struct list_node
 * embedded in each element, circular around a head node, O(1) everything. */
#ifndef SB_COMMON_LIST_H
#define SB_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* A head is a list_node that is not an element; an empty list's head, and a
 * node that is in no list, point at themselves. An element may sit in several
 * lists at once through several embedded nodes. */
struct list_node {
    struct list_node *prev, *next;
};

/* Static initialiser of a head or a detached node: LIST_INIT(s.head). */
#define LIST_INIT(n) { &(n), &(n) }

/* Makes n an empty head, or a detached node. Every node is initialised (or
 * zero-initialised then list_init'ed) before any other call sees it. */
static inline void list_init(struct list_node *n)
{
    n->prev = n->next = n;
}

/* True if the list is empty; on an element's node: true if it is in no list. */
static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}

static inline void list__link(struct list_node *n, struct list_node *prev,
                              struct list_node *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

/* Appends n, which must be in no list. */
static inline void list_insert_tail(struct list_node *head, struct list_node *n)
{
    list__link(n, head->prev, head);
}

/* Prepends n, which must be in no list. */
static inline void list_insert_head(struct list_node *head, struct list_node *n)
{
    list__link(n, head, head->next);
}

/* Unlinks n from its list and leaves it detached: removing a detached node
 * again is harmless. */
static inline void list_remove(struct list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    list_init(n);
}

/* Moves n, in this list, another one or none, to the tail of head. */
static inline void list_move_tail(struct list_node *head, struct list_node *n)
{
    list_remove(n);
    list_insert_tail(head, n);
}

/* Moves every element of `from` (a head) to the tail of `head`, in order;
 * `from` is left empty. */
static inline void list_splice_tail(struct list_node *head, struct list_node *from)
{
    if (list_empty(from))
        return;
    struct list_node *first = from->next, *last = from->prev;
    first->prev = head->prev;
    head->prev->next = first;
    last->next = head;
    head->prev = last;
    list_init(from);
}

/* The element that embeds node ptr as its member `member`. */
#define list_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* The first element of the list, or NULL if it is empty. */
#define list_first_entry(head, type, member) \
    (list_empty(head) ? NULL : list_entry((head)->next, type, member))

/* Visits every node, first to last; the body must not unlink pos. */
#define list_foreach(pos, head) \
    for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* The same, but the body may unlink (or free the element of) pos, and only
 * pos: tmp holds the next node. */
#define list_foreach_safe(pos, tmp, head)                        \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
