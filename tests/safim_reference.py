"""Reference oracles for the SAFIM rule tests: straight transcriptions of SAFIM's own functions.

Source: gonglinyuan/safim (MIT licence, see infill/benchmarks/data/safim/LICENSE): evaluate.py at 6081d2e3
(`get_function_call_params`, `function_calls_match`, `syntax_match`), ast_utils.py at d37eaa66 (`ASTVisitor`,
`ErrorCheckVisitor`) and prompt_utils.py at 18a8099b (`truncate_to_first_line`, `match_prefix_and_suffix`,
`truncate_line_until_block`, `truncate_control`, `truncate_api_call`). Kept as close to the original as the
current tree-sitter binding allows (the only change: `Parser(language)` instead of `Parser().set_language`), so
that infill's restructured implementation is compared with SAFIM's code, not with itself.
"""
# The transcribed code keeps its original style, bare except included.

import ast
import re

import tree_sitter

from infill.benchmarks.safim.grammars import language


def get_function_call_params(node):
    positional_args = [ast.dump(arg) for arg in node.args]
    keyword_args = {kw.arg: ast.dump(kw.value) for kw in node.keywords}
    return positional_args, keyword_args


def function_calls_match(call1, call2):
    params1 = get_function_call_params(call1)
    params2 = get_function_call_params(call2)
    return params1 == params2


def syntax_match(code1, code2, lang):
    code1 = re.sub(r'\s+', '', code1).strip()
    code2 = re.sub(r'\s+', '', code2).strip()
    if lang == "python":
        try:
            tree1 = ast.parse(code1, mode='eval')
            tree2 = ast.parse(code2, mode='eval')

            if isinstance(tree1.body, ast.Call) and isinstance(tree2.body, ast.Call):
                return function_calls_match(tree1.body, tree2.body)
        except:
            pass  # If parsing fails, fall back to simple string comparison

    return code1 == code2


class ASTVisitor:

    def __init__(self, with_ndtypes=False):
        self.with_ndtypes = with_ndtypes
        self.stack = []
        self.ndtypes = []

    def enter(self, node) -> bool:
        return True

    def leave(self, node):
        pass

    def enter_leaf(self, node):
        pass

    def on_enter(self, node) -> bool:
        if self.with_ndtypes:
            self.ndtypes.append((node.start_byte, True, node.type))
        enter_fn = getattr(self, "enter_%s" % node.type, self.enter)
        r = enter_fn(node)
        if node.child_count == 0:
            self.enter_leaf(node)
        self.stack.append(node.type)
        return r

    def on_leave(self, node):
        assert self.stack.pop() == node.type
        leave_fn = getattr(self, "leave_%s" % node.type, self.leave)
        r = leave_fn(node)
        if self.with_ndtypes:
            self.ndtypes.append((node.end_byte, False, node.type))
        return r

    def walk(self, root_node):
        if root_node is None:
            return

        cursor = root_node.walk()
        has_next = True

        while has_next:
            current_node = cursor.node

            # Step 1: Try to go to next child if we continue the subtree
            if self.on_enter(current_node):
                has_next = cursor.goto_first_child()
            else:
                has_next = False

            # Step 2: Try to go to next sibling
            if not has_next:
                self.on_leave(current_node)
                has_next = cursor.goto_next_sibling()

            # Step 3: Go up until sibling exists
            while not has_next and cursor.goto_parent():
                self.on_leave(cursor.node)  # We will never return to this specific parent
                has_next = cursor.goto_next_sibling()

    def __call__(self, root_node):
        return self.walk(root_node)


class ErrorCheckVisitor(ASTVisitor):
    def __init__(self, with_ndtypes=False):
        super().__init__(with_ndtypes)
        self.error_cnt = 0

    def enter_ERROR(self, node):
        if node.text.decode("utf-8") != ";":
            self.error_cnt += 1


def get_parser(lang):
    return tree_sitter.Parser(language(lang))


def check_syntax(code):
    parser = get_parser("python")
    code_bytes = code.encode("utf-8")
    tree = parser.parse(code_bytes)
    error_check = ErrorCheckVisitor()
    error_check(tree)
    return error_check.error_cnt == 0


def truncate_to_first_line(code, add_line_break=False):
    lines = code.splitlines()
    for line in lines:
        if line.strip():
            if not add_line_break:
                return line
            else:
                return line + "\n"
    return ""


def match_prefix_and_suffix(l1, l2):
    p = 0
    while p < len(l1) and p < len(l2):
        if l1[p] == l2[p]:
            p += 1
        else:
            break
    q = 0
    while -q < len(l1) and -q < len(l2):
        if l1[q - 1] == l2[q - 1]:
            q -= 1
        else:
            break
    return p, q


def truncate_line_until_block(sample, code):
    parser = get_parser(sample["lang"])
    lines = code.splitlines(keepends=True)
    while lines:
        eval_prefix, eval_suffix = sample['eval_prompt'].split("{{completion}}")
        eval_prefix = eval_prefix.encode("utf-8")
        eval_suffix = eval_suffix.encode("utf-8")
        completion = "".join(lines).encode("utf-8")
        if sample["lang"] == "python":
            code_bytes_0 = eval_prefix + b"pass" + eval_suffix
        else:
            code_bytes_0 = eval_prefix + eval_suffix
        code_bytes_1 = eval_prefix + completion + eval_suffix

        visitor = ErrorCheckVisitor(with_ndtypes=True)
        tree = parser.parse(code_bytes_1)
        visitor(tree)
        if visitor.error_cnt > 0:
            lines.pop()
            continue
        visitor_trace_1 = [(x, y) for _, x, y in visitor.ndtypes]

        visitor = ErrorCheckVisitor(with_ndtypes=True)
        tree = parser.parse(code_bytes_0)
        visitor(tree)
        assert visitor.error_cnt == 0
        visitor_trace_0 = [(x, y) for _, x, y in visitor.ndtypes]
        if len(visitor_trace_0) > len(visitor_trace_1):
            lines.pop()
            continue

        prefix_matched, suffix_matched = match_prefix_and_suffix(visitor_trace_0, visitor_trace_1)
        matched_diff = len(visitor_trace_0) - (prefix_matched - suffix_matched)
        if sample["lang"] == "python":
            matched_diff -= 4
        if matched_diff == 0:
            break
        else:
            lines.pop()
    return "".join(lines)


def truncate_control(sample, completion):
    if sample["lang"] == "python":
        return truncate_to_first_line(completion)
    else:
        depth = 0
        for i, ch in enumerate(completion):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if depth == -1:
                return completion[:i]
        return completion


def truncate_api_call(completion):
    depth = 0
    for i, ch in enumerate(completion):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth <= 0:
                return completion[:i + 1]
    return completion
