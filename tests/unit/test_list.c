/* Unit tests for src/common/list.h: the intrusive doubly linked list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/list.h"

struct item {
    int value;
    struct list_node node;     /* not the first member: list_entry must subtract */
    struct list_node other;    /* a second list the item may also be in */
};

/* The values in list order, as "1,2,3", walking forwards and checking the
 * backward links on the way. */
static const char *values(struct list_node *head)
{
    static char out[256];
    size_t o = 0;
    out[0] = '\0';
    struct list_node *pos;
    list_foreach(pos, head) {
        cr_assert_eq(pos->next->prev, pos);
        cr_assert_eq(pos->prev->next, pos);
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%d", o ? "," : "",
                              list_entry(pos, struct item, node)->value);
    }
    return out;
}

static void init_items(struct item *it, int n)
{
    for (int i = 0; i < n; i++) {
        it[i].value = i + 1;
        list_init(&it[i].node);
        list_init(&it[i].other);
    }
}

Test(list, a_new_head_is_empty_and_points_at_itself)
{
    struct list_node head;
    list_init(&head);
    cr_assert(list_empty(&head));
    cr_assert_eq(head.next, &head);
    cr_assert_eq(head.prev, &head);
    cr_assert_null(list_first_entry(&head, struct item, node));
    struct list_node st = LIST_INIT(st);
    cr_assert(list_empty(&st));
    cr_assert_str_eq(values(&head), "");
}

Test(list, insert_tail_and_head_keep_order)
{
    struct list_node head;
    list_init(&head);
    struct item it[4];
    init_items(it, 4);
    list_insert_tail(&head, &it[1].node);
    list_insert_tail(&head, &it[2].node);
    list_insert_head(&head, &it[0].node);
    list_insert_tail(&head, &it[3].node);
    cr_assert_not(list_empty(&head));
    cr_assert_str_eq(values(&head), "1,2,3,4");
    cr_assert_eq(list_first_entry(&head, struct item, node), &it[0]);
    cr_assert_eq(list_entry(head.prev, struct item, node), &it[3]);
}

Test(list, entry_finds_the_owner_from_any_member)
{
    struct item it;
    cr_assert_eq(list_entry(&it.node, struct item, node), &it);
    cr_assert_eq(list_entry(&it.other, struct item, other), &it);
}

Test(list, remove_detaches_and_a_second_remove_is_harmless)
{
    struct list_node head;
    list_init(&head);
    struct item it[3];
    init_items(it, 3);
    for (int i = 0; i < 3; i++)
        list_insert_tail(&head, &it[i].node);
    list_remove(&it[1].node);
    cr_assert(list_empty(&it[1].node));
    cr_assert_str_eq(values(&head), "1,3");
    list_remove(&it[1].node);
    cr_assert_str_eq(values(&head), "1,3");
    list_remove(&it[0].node);
    list_remove(&it[2].node);
    cr_assert(list_empty(&head));
    /* a detached node goes back in */
    list_insert_tail(&head, &it[1].node);
    cr_assert_str_eq(values(&head), "2");
}

Test(list, move_tail_reorders_and_moves_between_lists)
{
    struct list_node a, b;
    list_init(&a);
    list_init(&b);
    struct item it[3];
    init_items(it, 3);
    for (int i = 0; i < 3; i++)
        list_insert_tail(&a, &it[i].node);
    list_move_tail(&a, &it[0].node);        /* least recently used goes last */
    cr_assert_str_eq(values(&a), "2,3,1");
    list_move_tail(&a, &it[1].node);
    cr_assert_str_eq(values(&a), "3,1,2");
    list_move_tail(&a, &it[1].node);        /* already last: unchanged */
    cr_assert_str_eq(values(&a), "3,1,2");
    list_move_tail(&b, &it[2].node);        /* to another list */
    cr_assert_str_eq(values(&a), "1,2");
    cr_assert_str_eq(values(&b), "3");
    struct item lone = {.value = 9};
    list_init(&lone.node);
    list_move_tail(&b, &lone.node);         /* from no list */
    cr_assert_str_eq(values(&b), "3,9");
}

Test(list, one_element_in_two_lists)
{
    struct list_node all, odd;
    list_init(&all);
    list_init(&odd);
    struct item it[5];
    init_items(it, 5);
    for (int i = 0; i < 5; i++) {
        list_insert_tail(&all, &it[i].node);
        if (it[i].value % 2)
            list_insert_tail(&odd, &it[i].other);
    }
    list_remove(&it[2].other);
    cr_assert_str_eq(values(&all), "1,2,3,4,5");
    int n = 0, sum = 0;
    struct list_node *pos;
    list_foreach(pos, &odd) {
        n++;
        sum += list_entry(pos, struct item, other)->value;
    }
    cr_assert_eq(n, 2);
    cr_assert_eq(sum, 1 + 5);
}

Test(list, foreach_safe_may_unlink_and_free_the_current_element)
{
    struct list_node head;
    list_init(&head);
    for (int i = 1; i <= 6; i++) {
        struct item *it = malloc(sizeof *it);
        cr_assert_not_null(it);
        it->value = i;
        list_insert_tail(&head, &it->node);
    }
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, &head) {
        struct item *it = list_entry(pos, struct item, node);
        if (it->value % 2 == 0) {
            list_remove(pos);
            free(it);
        }
    }
    cr_assert_str_eq(values(&head), "1,3,5");
    list_foreach_safe(pos, tmp, &head) {
        list_remove(pos);
        free(list_entry(pos, struct item, node));
    }
    cr_assert(list_empty(&head));
}

Test(list, splice_moves_everything_in_order)
{
    struct list_node a, b;
    list_init(&a);
    list_init(&b);
    struct item it[5];
    for (int i = 0; i < 5; i++) {
        it[i].value = i;
        list_insert_tail(i < 2 ? &a : &b, &it[i].node);
    }
    list_splice_tail(&a, &b);
    cr_assert(list_empty(&b));
    int want = 0;
    struct list_node *pos;
    list_foreach(pos, &a)
        cr_assert_eq(list_entry(pos, struct item, node)->value, want++);
    cr_assert_eq(want, 5);
    list_splice_tail(&a, &b); /* an empty one changes nothing */
    cr_assert_eq(list_entry(a.prev, struct item, node)->value, 4);
}
