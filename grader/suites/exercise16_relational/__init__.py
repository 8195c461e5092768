TITLE = "Relation networks"
MODULE = "relational"
API = [
    "all_pairs(objects)",
    "class RelationNetwork(obj_dim, hidden_dim, out_dim)",
]
