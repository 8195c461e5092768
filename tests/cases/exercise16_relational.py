"""exercise16_relational: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

FIRST = "    first = objects.unsqueeze(2).expand(B, N, N, D)  # [b, i, j] = o_i\n"
SECOND = "    second = objects.unsqueeze(1).expand(B, N, N, D)  # [b, i, j] = o_j\n"
CAT = "    return torch.cat([first, second], dim=-1).reshape(B, N * N, 2 * D)"
PAIRS_BODY = FIRST + SECOND + CAT
G = ("        self.g = nn.Sequential(nn.Linear(2 * obj_dim, hidden_dim), nn.ReLU(), "
     "nn.Linear(hidden_dim, hidden_dim), nn.ReLU())")
F = "        self.f = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))"
RELATIONS = "        relations = self.g(all_pairs(objects))  # (B, N·N, hidden_dim)"
SUM = "        return self.f(relations.sum(dim=1))"
FORWARD = RELATIONS + "\n" + SUM
RN = ("rn_values", "rn_any_number_of_objects", "rn_order_invariance", "rn_gradients")

MISTAKES = {
    "halves_swapped": (
        [(CAT, "    return torch.cat([second, first], dim=-1).reshape(B, N * N, 2 * D)")],
        {"pairs_values": "concat(o_j, o_i)"}),
    "j_major_order": (
        [(FIRST, FIRST.replace("unsqueeze(2)", "unsqueeze(1)")),
         (SECOND, SECOND.replace("unsqueeze(1)", "unsqueeze(2)"))],
        {"pairs_values": "j-major"}),
    "both_halves_object_i": (
        [(SECOND, SECOND.replace("unsqueeze(1)", "unsqueeze(2)"))],
        {"pairs_values": "both halves of each pair hold object i", "rn_values": "", "rn_any_number_of_objects": "",
         "rn_gradients": ""}),
    "pairs_with_itself_left_out": (
        [(CAT, CAT.replace("return", "pairs =") + "\n"
               "    keep = [i * N + j for i in range(N) for j in range(N) if i != j]\n"
               "    return pairs[:, keep]")],
        {"api": "i == j", "pairs_values": "i == j", "pairs_dtype": "i == j", "pairs_gradients": "i == j",
         "rn_values": "left out", "rn_any_number_of_objects": "", "rn_gradients": ""}),
    "float32_buffer_on_default_device": (
        [(PAIRS_BODY, "    out = torch.zeros(B, N * N, 2 * D)\n"
                      "    for i in range(N):\n"
                      "        for j in range(N):\n"
                      "            out[:, i * N + j] = torch.cat([objects[:, i], objects[:, j]], dim=-1)\n"
                      "    return out")],
        {"pairs_dtype": "float64", "pairs_gradients": "dtype", "device": "objects.device"}),
    "pairs_detached": (
        [(CAT, CAT + ".detach()")],
        {"pairs_gradients": "no gradient reaches the objects", "rn_gradients": "reaches the objects"}),
    "mean_over_pairs": (
        [(SUM, "        return self.f(relations.mean(dim=1))")],
        {"rn_values": "averaged", "rn_any_number_of_objects": "averaged", "rn_gradients": "is wrong"}),
    "last_pair_only": (
        [(SUM, "        return self.f(relations[:, -1])")],
        {"rn_values": "last pair", "rn_any_number_of_objects": "last pair", "rn_order_invariance": "permuting",
         "rn_gradients": "", "rn_learns": ""}),
    "f_before_the_sum": (
        [(SUM, "        return self.f(relations).sum(dim=1)")],
        {"rn_values": "before the sum", "rn_any_number_of_objects": "before the sum", "rn_gradients": ""}),
    "accumulator_never_updated": (
        [(FORWARD, "        pairs = all_pairs(objects)\n"
                   "        total = torch.zeros_like(self.g(pairs[:, 0]))\n"
                   "        for k in range(pairs.shape[1]):\n"
                   "            total + self.g(pairs[:, k])\n"
                   "        return self.f(total)")],
        {"rn_values": "", "rn_any_number_of_objects": "", "rn_order_invariance": "changing object",
         "rn_gradients": "no gradient reaches", "rn_learns": ""}),
    "relations_detached": (
        [(SUM, "        return self.f(relations.sum(dim=1).detach())")],
        {"rn_gradients": "no gradient reaches g."}),
    "no_activations": (
        [(G, "        self.g = nn.Sequential(nn.Linear(2 * obj_dim, hidden_dim), nn.Linear(hidden_dim, hidden_dim))"),
         (F, "        self.f = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Linear(hidden_dim, out_dim))")],
        {"rn_learns": "nonlinear"}),
    "pair_indices_cached_on_first_call": (
        [("        super().__init__()\n", "        super().__init__()\n        self.index = None\n"),
         (FORWARD, "        if self.index is None:\n"
                   "            N = objects.shape[1]\n"
                   "            self.index = torch.cartesian_prod(torch.arange(N), torch.arange(N))\n"
                   "        i, j = self.index.T\n"
                   "        pairs = torch.cat([objects[:, i], objects[:, j]], dim=-1)\n"
                   "        return self.f(self.g(pairs).sum(dim=1))")],
        {"rn_any_number_of_objects": "earlier call"}),
    "g_renamed": (
        [(G, G.replace("self.g =", "self.pair_mlp =")), (RELATIONS, RELATIONS.replace("self.g(", "self.pair_mlp("))],
        {"api": "attribute `g`", **{c: "attribute `g`" for c in RN}}),
}

ALTERNATIVES = {
    "repeat_interleave_and_repeat": '''
def all_pairs(objects):
    N = objects.shape[1]
    first = objects.repeat_interleave(N, dim=1)  # o_0 N times, o_1 N times, ...
    second = objects.repeat(1, N, 1)  # o_0 .. o_{N-1}, N times
    return torch.cat([first, second], dim=-1)
''',
    "itertools_loops": '''
import itertools


def all_pairs(objects):
    N = objects.shape[1]
    pairs = [torch.cat([objects[:, i], objects[:, j]], dim=-1)
             for i, j in itertools.product(range(N), range(N))]
    return torch.stack(pairs, dim=1)
''',
    "loop_over_batch_with_cartesian_prod": '''
def all_pairs(objects):
    out = []
    for o in objects:  # (N, D)
        idx = torch.arange(o.shape[0], device=o.device)
        ij = torch.stack(torch.meshgrid(idx, idx, indexing="ij"), dim=-1).reshape(-1, 2)
        out.append(o[ij].flatten(1))  # (N·N, 2, D) -> (N·N, 2D)
    return torch.stack(out)
''',
    "deeper_mlps_flattened_pairs": '''
class RelationNetwork(nn.Module):
    def __init__(self, obj_dim, hidden_dim, out_dim):
        super().__init__()
        layers, sizes = [], [2 * obj_dim] + [hidden_dim] * 4
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.g = nn.Sequential(*layers)
        self.f = nn.Sequential(nn.Linear(hidden_dim, 2 * hidden_dim), nn.ReLU(), nn.Linear(2 * hidden_dim, hidden_dim),
                               nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, objects):
        B, N, D = objects.shape
        pairs = all_pairs(objects).reshape(B * N * N, 2 * D)
        return self.f(self.g(pairs).reshape(B, N * N, -1).sum(dim=1))
''',
    "tanh_mlps_loop_over_pairs": '''
class RelationNetwork(nn.Module):
    def __init__(self, obj_dim, hidden_dim, out_dim):
        super().__init__()
        self.g = nn.Sequential(nn.Linear(2 * obj_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, hidden_dim))
        self.f = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, out_dim))

    def forward(self, objects):
        N = objects.shape[1]
        total = 0
        for i in range(N):
            for j in range(N):
                total = total + self.g(torch.cat([objects[:, i], objects[:, j]], dim=-1))
        return self.f(total)
''',
    "custom_mlp_class_on_a_pair_grid": '''
class MLP(nn.Module):
    def __init__(self, *sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class RelationNetwork(nn.Module):
    def __init__(self, obj_dim, hidden_dim, out_dim):
        super().__init__()
        self.g = MLP(2 * obj_dim, hidden_dim, hidden_dim)
        self.f = MLP(hidden_dim, hidden_dim, hidden_dim, out_dim)

    def forward(self, objects):
        B, N, D = objects.shape
        grid = all_pairs(objects).view(B, N, N, 2 * D)  # [b, i, j] = concat(o_i, o_j)
        return self.f(self.g(grid).sum(dim=(1, 2)))
''',
}
