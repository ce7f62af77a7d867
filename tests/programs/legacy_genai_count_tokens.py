import google.generativeai as genai

genai.configure()
model = genai.GenerativeModel("gemini-1.5-pro")
print(model.count_tokens("How many tokens is this sentence?").total_tokens)
print(model.count_tokens(["first part", "second part"]).total_tokens)
